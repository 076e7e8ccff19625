"""Crash keys: sanitizer reports in, stable keys out (tools/fuzz/triage.py).

Run: python3 -m unittest discover -s tools/fuzz/tests -t tools
"""

import unittest
from pathlib import Path

from fuzz import triage

HEAP_OVERFLOW = """\
INFO: Running with entropic power schedule (0xFF, 100).
=================================================================
==7320==ERROR: AddressSanitizer: heap-buffer-overflow on address 0x602000000036 at pc 0x5643a876e3c3 bp 0x7ffc41fc0c60 sp 0x7ffc41fc0c58
READ of size 1 at 0x602000000036 thread T0
    #0 0x5643a876e3c2 in wasmcache::reference::ByteReader::ReadU8(unsigned long) /work/main/reference/byte_reader.cc:15:47
    #1 0x5643a876e3f0 in wasmcache::reference::(anonymous namespace)::ParseHeader(wasmcache::reference::ByteReader&) const /work/main/reference/cache_parser.cc:40:3
    #2 0x5643a876e400 in absl::Status wasmcache::reference::Deserialize<wasmcache::X64>(std::span<unsigned char const, 18446744073709551615ul>) /work/main/reference/deserializer.cc:99:9
    #3 0x5643a876e500 in wasmcache::reference::Load(char const*) /work/main/reference/deserializer.cc:120:9
    #4 0x5643a876fd00 in LLVMFuzzerTestOneInput /work/main/fuzz/deserialize_fuzzer.cc:8:17
    #5 0x5643a8694273 in fuzzer::Fuzzer::ExecuteCallback(unsigned char const*, unsigned long) (/work/main/build/libfuzzer/fuzz/deserialize_fuzzer+0x46273) (BuildId: 6f53bbb216b4e13b0ff81b4b32ad1c8f274baaae)

0x602000000036 is located 0 bytes to the right of 6-byte region [0x602000000030,0x602000000036)
allocated by thread T0 here:
    #0 0x5643a876ba3d in operator new[](unsigned long) (/work/main/build/libfuzzer/fuzz/deserialize_fuzzer+0x11da3d) (BuildId: 6f53bbb216b4e13b0ff81b4b32ad1c8f274baaae)
    #1 0x5643a8694182 in fuzzer::Fuzzer::ExecuteCallback(unsigned char const*, unsigned long) (/work/main/build/libfuzzer/fuzz/deserialize_fuzzer+0x46182) (BuildId: 6f53bbb216b4e13b0ff81b4b32ad1c8f274baaae)

SUMMARY: AddressSanitizer: heap-buffer-overflow /work/main/reference/byte_reader.cc:15:47 in wasmcache::reference::ByteReader::ReadU8(unsigned long)
Shadow bytes around the buggy address:
"""

UBSAN = """\
/work/main/fast/walk.cc:18:9: runtime error: signed integer overflow: 2147483632 + 255 cannot be represented in type 'int'
    #0 0x5631cafebb5b in wasmcache::fast::Walk(unsigned char const*, unsigned long) /work/main/fast/walk.cc:18:9
    #1 0x5631cafed114 in LLVMFuzzerTestOneInput /work/main/fuzz/roundtrip_fuzzer.cc:8:17
    #2 0x5631cafef308 in main /work/main/fuzz/drivers/afl_driver.cc:39:7
    #3 0x7f8d1bf65249 in __libc_start_call_main csu/../sysdeps/nptl/libc_start_call_main.h:58:16

SUMMARY: UndefinedBehaviorSanitizer: undefined-behavior /work/main/fast/walk.cc:18:9 in 
"""

FINDING = """\
wasmcache-finding: reference-fast-code-header-difference
arch x64, field instruction_size, offset 0x40
AddressSanitizer:DEADLYSIGNAL
=================================================================
==391==ERROR: AddressSanitizer: ABRT on unknown address 0x000000000187 (pc 0x7fc9727a8eec bp 0x7fc972c1d800 sp 0x7ffdf9a29bb0 T0)
    #0 0x7fc9727a8eec in __pthread_kill_implementation nptl/./nptl/pthread_kill.c:44:76
    #1 0x7fc972759fb1 in raise signal/../sysdeps/posix/raise.c:26:13
    #2 0x7fc972744471 in abort stdlib/./stdlib/abort.c:79:7
    #3 0x55d067c0d303 in wasmcache::fuzz::ReportFinding(std::basic_string_view<char, std::char_traits<char> >, std::basic_string_view<char, std::char_traits<char> >) /work/main/fuzz/lib/finding.cc:15:3
    #4 0x55d067c0e26f in wasmcache::fuzz::CompareModules(Module const&, Module const&) /work/main/fuzz/lib/oracle.cc:80:5
"""

LEAK = """\
=================================================================
==12==ERROR: LeakSanitizer: detected memory leaks

Direct leak of 24 byte(s) in 1 object(s) allocated from:
    #0 0x4f6a1c in operator new(unsigned long) (/b/fuzz/t+0x4f6a1c)
    #1 0x5a0000 in wasmcache::reference::NativeModule::AddCode(int) /work/main/reference/native_module.cc:77:3

SUMMARY: AddressSanitizer: 24 byte(s) leaked in 1 allocation(s).
"""

UNSYMBOLIZED = """\
==1==ERROR: AddressSanitizer: heap-buffer-overflow on address 0x602000000036 at pc 0x5643a876e3c3
    #0 0x56403ee233c2  (/work/main/build/afl/fuzz/reloc_fuzzer+0x1203c2) (BuildId: 6f53bbb216b4e13b0ff81b4b32ad1c8f274baaae)
    #1 0x56403ee24d00  (/work/main/build/afl/fuzz/reloc_fuzzer+0x121d00) (BuildId: 6f53bbb216b4e13b0ff81b4b32ad1c8f274baaae)

SUMMARY: AddressSanitizer: heap-buffer-overflow (/work/main/build/afl/fuzz/reloc_fuzzer+0x1203c2) (BuildId: 6f53bbb216b4e13b0ff81b4b32ad1c8f274baaae)
"""


class StripParametersTest(unittest.TestCase):
    def test_plain(self):
        self.assertEqual(triage.strip_parameters("ns::F(int, char const*)"), "ns::F")

    def test_const_method(self):
        self.assertEqual(triage.strip_parameters("ns::C::F(int) const"), "ns::C::F")

    def test_anonymous_namespace_kept(self):
        self.assertEqual(triage.strip_parameters("(anonymous namespace)::F(int)"),
                         "(anonymous namespace)::F")

    def test_function_pointer_parameter(self):
        self.assertEqual(triage.strip_parameters(
            "fuzzer::FuzzerDriver(int*, char***, int (*)(unsigned char const*, unsigned long))"),
            "fuzzer::FuzzerDriver")

    def test_operator_call(self):
        self.assertEqual(triage.strip_parameters("Visitor::operator()(int)"),
                         "Visitor::operator()")

    def test_no_parameters(self):
        self.assertEqual(triage.strip_parameters("LLVMFuzzerTestOneInput"),
                         "LLVMFuzzerTestOneInput")


class ReportTest(unittest.TestCase):
    def test_heap_overflow_key_is_kind_and_top_project_frames(self):
        report = triage.parse_report(HEAP_OVERFLOW, 1, False)
        self.assertEqual(report.kind, "heap-buffer-overflow")
        self.assertEqual([f.function for f in report.key_frames()], [
            "wasmcache::reference::ByteReader::ReadU8",
            "wasmcache::reference::(anonymous namespace)::ParseHeader",
            "absl::Status wasmcache::reference::Deserialize<wasmcache::X64>"])
        self.assertEqual(triage.directory_name(report),
                         "heap-buffer-overflow--reference-bytereader-readu8--"
                         "reference-anonymous-parseheader--reference-deserialize")
        self.assertEqual(report.top_location(),
                         "/work/main/reference/byte_reader.cc:15:47")

    def test_allocation_stack_is_not_the_crash_stack(self):
        frames = triage.first_stack(HEAP_OVERFLOW)
        self.assertEqual(len(frames), 6)
        self.assertNotIn("operator new[]", [f.function for f in frames])

    def test_same_bug_other_line_same_key(self):
        moved = HEAP_OVERFLOW.replace("byte_reader.cc:15:47", "byte_reader.cc:19:2")
        moved = moved.replace("0x5643a876e3c2", "0x5643a876f000")
        self.assertEqual(triage.parse_report(moved, 1, False).identity(),
                         triage.parse_report(HEAP_OVERFLOW, 1, False).identity())

    def test_ubsan_class_from_message(self):
        report = triage.parse_report(UBSAN, 1, False)
        self.assertEqual(report.kind, "signed-integer-overflow")
        self.assertEqual(triage.directory_name(report),
                         "signed-integer-overflow--fast-walk")

    def test_ubsan_classes_drop_values(self):
        self.assertEqual(triage.ubsan_class(
            "shift exponent 40 is too large for 32-bit type 'int'"),
            "shift-exponent-is-too-large-for")
        self.assertEqual(triage.ubsan_class(
            "load of misaligned address 0x000001 for type 'uint32_t', which "
            "requires 4 byte alignment"), "load-of-misaligned-address-for-type")

    def test_finding_signature_is_the_key(self):
        report = triage.parse_report(FINDING, -6, False)
        self.assertEqual(report.identity(),
                         ("finding", "reference-fast-code-header-difference"))
        self.assertEqual(triage.directory_name(report),
                         "reference-fast-code-header-difference")
        # The reporter itself is not a key frame; the oracle is.
        self.assertEqual([f.function for f in report.key_frames()],
                         ["wasmcache::fuzz::CompareModules"])

    def test_leak(self):
        report = triage.parse_report(LEAK, 1, False)
        self.assertEqual(report.kind, "memory-leak")
        self.assertEqual(triage.directory_name(report),
                         "memory-leak--reference-nativemodule-addcode")

    def test_libfuzzer_errors(self):
        self.assertEqual(triage.crash_kind(
            "==5== ERROR: libFuzzer: timeout after 25 seconds\n"), "timeout")
        self.assertEqual(triage.crash_kind(
            "==5== ERROR: libFuzzer: out-of-memory (malloc(2147483648))\n"),
            "out-of-memory")
        self.assertEqual(triage.crash_kind(
            "==5== ERROR: libFuzzer: deadly signal\n"), "deadly-signal")

    def test_not_reproducible_and_timeout(self):
        self.assertFalse(triage.parse_report("replay: 1 inputs ran\n", 0, False).reproduced)
        self.assertEqual(triage.parse_report("", None, True).kind, "replay-timeout")

    def test_unsymbolized_frames_keep_module_offsets(self):
        report = triage.parse_report(UNSYMBOLIZED, 1, False)
        self.assertEqual(report.kind, "heap-buffer-overflow")
        self.assertEqual(report.frames[0].location,
                         "(/work/main/build/afl/fuzz/reloc_fuzzer+0x1203c2)")
        self.assertEqual(report.frames[0].function, "")

    def test_long_names_are_cut_with_a_digest(self):
        long_name = "ns::" + "VeryLongTemplateName" * 10
        text = HEAP_OVERFLOW.replace("wasmcache::reference::ByteReader::ReadU8", long_name)
        name = triage.directory_name(triage.parse_report(text, 1, False))
        self.assertLessEqual(len(name), 120)
        self.assertRegex(name, r"-[0-9a-f]{8}$")


class GroupTest(unittest.TestCase):
    def _replay(self, path: str, size: int, text: str, code=1) -> triage.Replay:
        return triage.Replay(Path(path), size, text, code, False)

    def test_groups_by_key_and_picks_the_smallest(self):
        moved = HEAP_OVERFLOW.replace("0x5643a876e3c2", "0x5643a876f000")
        groups = triage.group_replays([
            self._replay("/a", 30, HEAP_OVERFLOW), self._replay("/b", 10, moved),
            self._replay("/c", 5, FINDING), self._replay("/d", 7, FINDING),
            self._replay("/e", 9, UBSAN)])
        self.assertEqual([(g.name, len(g.replays)) for g in groups], [
            ("heap-buffer-overflow--reference-bytereader-readu8--"
             "reference-anonymous-parseheader--reference-deserialize", 2),
            ("reference-fast-code-header-difference", 2),
            ("signed-integer-overflow--fast-walk", 1)])
        self.assertEqual(groups[0].smallest.path, Path("/b"))
        self.assertEqual(groups[1].smallest.path, Path("/c"))

    def test_equal_names_of_different_keys_get_digests(self):
        # Template arguments are not in directory names, but in keys.
        other = HEAP_OVERFLOW.replace(
            "absl::Status wasmcache::reference::Deserialize<wasmcache::X64>",
            "absl::Status wasmcache::reference::Deserialize<wasmcache::Arm64>")
        groups = triage.group_replays([self._replay("/a", 1, HEAP_OVERFLOW),
                                       self._replay("/b", 1, other)])
        self.assertEqual(len(groups), 2)
        self.assertNotEqual(groups[0].name, groups[1].name)
        for g in groups:
            self.assertRegex(g.name, r"-[0-9a-f]{8}$")


if __name__ == "__main__":
    unittest.main()
