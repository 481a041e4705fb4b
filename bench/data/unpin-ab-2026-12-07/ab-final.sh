#!/bin/bash
out=/tmp/ab2-results; mkdir -p $out
cd /tmp/expB2 || exit 1
rm -rf build/logs
MPMCRING_KERNELS=stock-6.1,stock-6.12 MPMCRING_HOST=0 MPMCRING_LINT=0 MPMCRING_DEMO=0 MPMCRING_DEPS=0 MPMCRING_VM_TESTS=overload python3 tests/harness/run.py > $out/run5-B2.log 2>&1
for k in stock-6.1 stock-6.12; do
  grep -h "attempted" build/logs/$k/results.log | sed "s/^/5 B2 $k: /" >> $out/summary.txt
  grep -h "EXPERIMENT" build/logs/$k/console.log | sed "s/^/5 B2 $k: /" >> $out/summary.txt
done
tail -1 $out/run5-B2.log | sed "s/^/5 B2: /" >> $out/summary.txt
