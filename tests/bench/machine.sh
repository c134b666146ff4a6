#!/bin/sh
# machine - one line naming the machine a benchmark's figures come from: CPU model, CPUs,
# avx2/avx512f, and the OpenBLAS build, core and thread count this process would get
# usage: tests/bench/machine.sh   (sourced or run; prints to stdout)
set -eu
MODEL=$(lscpu | sed -n 's/^Model name: *//p' | head -n 1)
FLAGS=$(lscpu | sed -n 's/^Flags: *//p')
has () { case " $FLAGS " in *" $1 "*) echo "$1";; *) echo "no $1";; esac; }
DIR=$(mktemp -d)
cat > "$DIR/blas.c" <<'CEOF'
#include <stdio.h>
char *openblas_get_config (void);
char *openblas_get_corename (void);
int openblas_get_num_threads (void);
int main (void)
{
    printf ("%s, core %s, %d threads", openblas_get_config (), openblas_get_corename (),
            openblas_get_num_threads ());
    return 0;
}
CEOF
BLAS=$(cc "$DIR/blas.c" $(pkg-config --cflags --libs openblas) -o "$DIR/blas" 2>/dev/null \
       && "$DIR/blas" || echo "OpenBLAS: not found")
rm -rf "$DIR"
echo "machine: $MODEL, $(getconf _NPROCESSORS_ONLN) CPUs, $(has avx2), $(has avx512f); $BLAS" \
     "(OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS-unset})"
