#!/bin/bash
# One more pair in one sitting: A (a193f1c + counters) then final (main + counters)
out=/tmp/ab3-results; mkdir -p $out
i=5
for v in A B2; do
  i=$((i+1))
  cd /tmp/exp$v || exit 1
  rm -rf build/logs
  MPMCRING_KERNELS=stock-6.1,stock-6.12 MPMCRING_HOST=0 MPMCRING_LINT=0 MPMCRING_DEMO=0 MPMCRING_DEPS=0 MPMCRING_VM_TESTS=overload python3 tests/harness/run.py > $out/run$i-$v.log 2>&1
  for k in stock-6.1 stock-6.12; do
    grep -h "attempted" build/logs/$k/results.log | sed "s/^/$i $v $k: /" >> $out/summary.txt
    grep -h "EXPERIMENT" build/logs/$k/console.log | sed "s/^/$i $v $k: /" >> $out/summary.txt
  done
  tail -1 $out/run$i-$v.log | sed "s/^/$i $v: /" >> $out/summary.txt
done
