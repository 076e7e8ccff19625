#include "fast/thread_pool.h"

#include <algorithm>

namespace wasmcache::fast {

ThreadPool::ThreadPool(int threads) {
  for (int w = 1; w < std::max(threads, 1); ++w) {
    workers_.emplace_back([this, w] { WorkerLoop(w); });
  }
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  for (std::thread& t : workers_) t.join();
}

void ThreadPool::Drain(Job& job, int worker) {
  for (;;) {
    const size_t task = job.next.fetch_add(1, std::memory_order_relaxed);
    if (task >= job.num_tasks) return;
    (*job.fn)(task, worker);
  }
}

void ThreadPool::WorkerLoop(int worker) {
  uint64_t seen = 0;
  for (;;) {
    Job* job;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait(lock, [&] { return stopping_ || generation_ != seen; });
      if (stopping_) return;
      seen = generation_;
      job = job_;
      // A job that ended before this worker woke, or one that does not
      // want this many workers.
      if (job == nullptr || worker >= job->max_workers) continue;
      ++active_;
    }
    Drain(*job, worker);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (--active_ == 0) done_.notify_all();
    }
  }
}

void ThreadPool::Run(size_t num_tasks,
                     const std::function<void(size_t, int)>& fn,
                     int max_workers) {
  if (num_tasks == 0) return;
  const int workers = max_workers <= 0 ? size() : std::min(max_workers, size());
  if (workers == 1 || num_tasks == 1) {
    for (size_t t = 0; t < num_tasks; ++t) fn(t, 0);
    return;
  }
  std::lock_guard<std::mutex> run_lock(run_mutex_);
  Job job;
  job.fn = &fn;
  job.num_tasks = num_tasks;
  job.max_workers = workers;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    job_ = &job;
    ++generation_;
  }
  wake_.notify_all();
  Drain(job, 0);
  // Workers that woke for this job finish their last task; workers that
  // have not woken yet find no task left (or a later generation).
  std::unique_lock<std::mutex> lock(mutex_);
  done_.wait(lock, [&] { return active_ == 0; });
  job_ = nullptr;
}

ThreadPool& DefaultPool() {
  static ThreadPool* pool = new ThreadPool(
      static_cast<int>(std::max(1u, std::thread::hardware_concurrency())));
  return *pool;
}

}  // namespace wasmcache::fast
