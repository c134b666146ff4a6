#!/bin/sh
# machine - one line naming the machine a benchmark's figures come from: CPU model (and its
# family/model numbers, which tell one "AMD EPYC" from another), CPUs, avx2/avx512f, the
# OpenBLAS build (version, core, threading: pthreads or OpenMP) and the thread count this
# process would get, and the load average (other work on a shared machine shows there)
# usage: tests/bench/machine.sh   (sourced or run; prints to stdout)
set -eu
MODEL=$(lscpu | sed -n 's/^Model name: *//p' | head -n 1)
FAMILY=$(lscpu | sed -n 's/^CPU family: *//p' | head -n 1)
NUMBER=$(lscpu | sed -n 's/^Model: *//p' | head -n 1)
FLAGS=$(lscpu | sed -n 's/^Flags: *//p')
has () { case " $FLAGS " in *" $1 "*) echo "$1";; *) echo "no $1";; esac; }
DIR=$(mktemp -d)
cat > "$DIR/blas.c" <<'CEOF'
#include <stdio.h>
char *openblas_get_config (void);
char *openblas_get_corename (void);
int openblas_get_num_threads (void);
int openblas_get_parallel (void);
int main (void)
{
    int parallel = openblas_get_parallel ();
    printf ("%s, core %s, %s, threads %d", openblas_get_config (), openblas_get_corename (),
            parallel == 0 ? "sequential" : parallel == 1 ? "pthreads" : "OpenMP",
            openblas_get_num_threads ());
    return 0;
}
CEOF
BLAS=$(cc "$DIR/blas.c" $(pkg-config --cflags --libs openblas) -o "$DIR/blas" 2>/dev/null \
       && "$DIR/blas" || echo "OpenBLAS: not found")
rm -rf "$DIR"
LOAD=$(cut -d ' ' -f 1-3 /proc/loadavg)
echo "machine: $MODEL (family $FAMILY model $NUMBER), $(getconf _NPROCESSORS_ONLN) CPUs," \
     "$(has avx2), $(has avx512f); $BLAS (OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS-unset});" \
     "load average $LOAD"
