// A fixed pool of worker threads for the fast implementation.
//
// Run(n, fn) calls fn(task, worker) for every task in [0, n), spread over
// the pool's workers and the calling thread, and returns when all are done.
// Tasks are taken in increasing order from one atomic counter, so early
// tasks start first (the deserializer publishes in order behind them).
// worker is in [0, size()): the caller is worker 0. Run is not reentrant:
// one Run at a time per pool (a mutex serializes concurrent callers).
//
// DefaultPool() is sized by std::thread::hardware_concurrency().

#ifndef WASMCACHE_FAST_THREAD_POOL_H_
#define WASMCACHE_FAST_THREAD_POOL_H_

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace wasmcache::fast {

class ThreadPool {
 public:
  // `threads` counts the caller: a pool of 1 runs everything inline.
  explicit ThreadPool(int threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return static_cast<int>(workers_.size()) + 1; }

  // Runs fn(task, worker) for each task in [0, num_tasks) on at most
  // `max_workers` threads (0: all).
  void Run(size_t num_tasks, const std::function<void(size_t, int)>& fn,
           int max_workers = 0);

 private:
  struct Job {
    const std::function<void(size_t, int)>* fn = nullptr;
    size_t num_tasks = 0;
    int max_workers = 0;
    std::atomic<size_t> next{0};
  };
  void WorkerLoop(int worker);
  static void Drain(Job& job, int worker);

  std::mutex run_mutex_;  // one Run at a time
  std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable done_;
  Job* job_ = nullptr;
  uint64_t generation_ = 0;
  int active_ = 0;  // workers still inside the current job
  bool stopping_ = false;
  std::vector<std::thread> workers_;
};

// The process-wide pool, created on first use with one thread per core.
ThreadPool& DefaultPool();

}  // namespace wasmcache::fast

#endif  // WASMCACHE_FAST_THREAD_POOL_H_
