#!/usr/bin/env python3
"""Proportional set size of a process tree, as if nothing else ran.

Usage: tree-pss.py [--top N] PID...   (the app, then the processes it started)

The kernel's Pss divides each shared page by every process that maps it, so a
second WebKit app running on the machine (another benchmark, a test) halves
the share of libwebkit2gtk, Mesa and JavaScriptCore that our processes are
charged, and the figure drops by tens of MB without anything changing. This
counts a shared page only among the given processes: the figure the kernel
would report if they ran alone. Pages private to one process come from smaps
as they are; pages shared with anything are read from /proc/PID/pagemap,
which gives physical page numbers to root only.

Prints one line per process: pid, name, kernel Pss and the alone figure (KiB),
then the totals; with --top N, each process's N largest files or kinds of
mapping by the alone figure below its line.
"""

import array
import collections
import os
import sys

PAGE = os.sysconf("SC_PAGE_SIZE")
PRESENT = 1 << 63
PFN_MASK = (1 << 55) - 1


def mappings(pid):
    """Yields (start, end, name, fields in KiB) for each mapping in smaps."""
    start = end = name = None
    fields = {}
    with open(f"/proc/{pid}/smaps") as smaps:
        for line in smaps:
            head = line.split(None, 1)[0]
            if "-" in head and not head.endswith(":"):
                if start is not None:
                    yield start, end, name, fields
                lo, hi = head.split("-")
                start, end, fields = int(lo, 16), int(hi, 16), {}
                parts = line.split(None, 5)
                name = parts[5].strip() if len(parts) > 5 else "[anon]"
            elif head.endswith(":") and line.rstrip().endswith("kB"):
                fields[head[:-1]] = int(line.split()[1])
    if start is not None:
        yield start, end, name, fields


def shared_pfns(pid, start, end):
    """Physical pages mapped in [start, end), read from pagemap."""
    with open(f"/proc/{pid}/pagemap", "rb") as pagemap:
        pagemap.seek(start // PAGE * 8)
        entries = array.array("Q")
        entries.frombytes(pagemap.read((end - start) // PAGE * 8))
    return [e & PFN_MASK for e in entries if e & PRESENT]


def measure(pids):
    """Kernel Pss per process, and the alone figure per process and mapping name."""
    kernel_pss = {}
    alone = {}
    shared = []
    for pid in pids:
        kernel_pss[pid] = 0
        alone[pid] = collections.Counter()
        for start, end, name, fields in mappings(pid):
            kernel_pss[pid] += fields.get("Pss", 0)
            if fields.get("Shared_Clean", 0) + fields.get("Shared_Dirty", 0):
                # Every present page of the mapping, private ones included:
                # those then count once, being mapped once in the tree too.
                shared.extend((pid, name, pfn) for pfn in shared_pfns(pid, start, end))
            else:
                alone[pid][name] += fields.get("Rss", 0)
    mappers = collections.Counter(pfn for _, _, pfn in shared)
    if 0 in mappers:
        sys.exit("tree-pss: pagemap hides physical pages; run it as root")
    for pid, name, pfn in shared:
        alone[pid][name] += PAGE / 1024 / mappers[pfn]
    return kernel_pss, alone


def main():
    args = sys.argv[1:]
    top = 0
    if args[:1] == ["--top"]:
        top, args = int(args[1]), args[2:]
    pids = [int(p) for p in args]
    if not pids:
        sys.exit(__doc__)
    kernel_pss, alone = measure(pids)
    for pid in pids:
        with open(f"/proc/{pid}/comm") as comm:
            name = comm.read().strip()
        print(f"{pid} {name} {kernel_pss[pid]} {sum(alone[pid].values()):.0f}")
        for mapping, kib in alone[pid].most_common(top):
            print(f"    {kib:8.0f}  {mapping}")
    total_alone = sum(sum(a.values()) for a in alone.values())
    print(f"total - {sum(kernel_pss.values())} {total_alone:.0f}")


if __name__ == "__main__":
    main()
