CMakeFiles/mt_agent.dir/worker/agent.c.o: /work/main/worker/agent.c \
 /usr/include/stdc-predef.h /work/main/worker/agent.h \
 /usr/lib/gcc/x86_64-linux-gnu/12/include/stdint.h /usr/include/stdint.h \
 /usr/include/x86_64-linux-gnu/bits/libc-header-start.h \
 /usr/include/features.h /usr/include/features-time64.h \
 /usr/include/x86_64-linux-gnu/bits/wordsize.h \
 /usr/include/x86_64-linux-gnu/bits/timesize.h \
 /usr/include/x86_64-linux-gnu/sys/cdefs.h \
 /usr/include/x86_64-linux-gnu/bits/long-double.h \
 /usr/include/x86_64-linux-gnu/gnu/stubs.h \
 /usr/include/x86_64-linux-gnu/gnu/stubs-64.h \
 /usr/include/x86_64-linux-gnu/bits/types.h \
 /usr/include/x86_64-linux-gnu/bits/typesizes.h \
 /usr/include/x86_64-linux-gnu/bits/time64.h \
 /usr/include/x86_64-linux-gnu/bits/wchar.h \
 /usr/include/x86_64-linux-gnu/bits/stdint-intn.h \
 /usr/include/x86_64-linux-gnu/bits/stdint-uintn.h \
 /work/main/include/mt/blob.h \
 /usr/lib/gcc/x86_64-linux-gnu/12/include/stdbool.h \
 /usr/lib/gcc/x86_64-linux-gnu/12/include/stddef.h \
 /work/main/include/mt/log.h /work/main/include/mt/msg.h \
 /usr/include/czmq.h /usr/include/czmq_library.h \
 /usr/include/czmq_prelude.h /usr/include/zmq.h /usr/include/errno.h \
 /usr/include/x86_64-linux-gnu/bits/errno.h /usr/include/linux/errno.h \
 /usr/include/x86_64-linux-gnu/asm/errno.h \
 /usr/include/asm-generic/errno.h /usr/include/asm-generic/errno-base.h \
 /usr/include/x86_64-linux-gnu/bits/types/error_t.h /usr/include/stdio.h \
 /usr/lib/gcc/x86_64-linux-gnu/12/include/stdarg.h \
 /usr/include/x86_64-linux-gnu/bits/types/__fpos_t.h \
 /usr/include/x86_64-linux-gnu/bits/types/__mbstate_t.h \
 /usr/include/x86_64-linux-gnu/bits/types/__fpos64_t.h \
 /usr/include/x86_64-linux-gnu/bits/types/__FILE.h \
 /usr/include/x86_64-linux-gnu/bits/types/FILE.h \
 /usr/include/x86_64-linux-gnu/bits/types/struct_FILE.h \
 /usr/include/x86_64-linux-gnu/bits/types/cookie_io_functions_t.h \
 /usr/include/x86_64-linux-gnu/bits/stdio_lim.h \
 /usr/include/x86_64-linux-gnu/bits/floatn.h \
 /usr/include/x86_64-linux-gnu/bits/floatn-common.h \
 /usr/include/x86_64-linux-gnu/bits/stdio.h /usr/include/ctype.h \
 /usr/include/x86_64-linux-gnu/bits/endian.h \
 /usr/include/x86_64-linux-gnu/bits/endianness.h \
 /usr/include/x86_64-linux-gnu/bits/types/locale_t.h \
 /usr/include/x86_64-linux-gnu/bits/types/__locale_t.h \
 /usr/lib/gcc/x86_64-linux-gnu/12/include/limits.h \
 /usr/lib/gcc/x86_64-linux-gnu/12/include/syslimits.h \
 /usr/include/limits.h /usr/include/x86_64-linux-gnu/bits/posix1_lim.h \
 /usr/include/x86_64-linux-gnu/bits/local_lim.h \
 /usr/include/linux/limits.h \
 /usr/include/x86_64-linux-gnu/bits/pthread_stack_min-dynamic.h \
 /usr/include/x86_64-linux-gnu/bits/posix2_lim.h \
 /usr/include/x86_64-linux-gnu/bits/xopen_lim.h \
 /usr/include/x86_64-linux-gnu/bits/uio_lim.h /usr/include/stdlib.h \
 /usr/include/x86_64-linux-gnu/bits/waitflags.h \
 /usr/include/x86_64-linux-gnu/bits/waitstatus.h \
 /usr/include/x86_64-linux-gnu/sys/types.h \
 /usr/include/x86_64-linux-gnu/bits/types/clock_t.h \
 /usr/include/x86_64-linux-gnu/bits/types/clockid_t.h \
 /usr/include/x86_64-linux-gnu/bits/types/time_t.h \
 /usr/include/x86_64-linux-gnu/bits/types/timer_t.h /usr/include/endian.h \
 /usr/include/x86_64-linux-gnu/bits/byteswap.h \
 /usr/include/x86_64-linux-gnu/bits/uintn-identity.h \
 /usr/include/x86_64-linux-gnu/sys/select.h \
 /usr/include/x86_64-linux-gnu/bits/select.h \
 /usr/include/x86_64-linux-gnu/bits/types/sigset_t.h \
 /usr/include/x86_64-linux-gnu/bits/types/__sigset_t.h \
 /usr/include/x86_64-linux-gnu/bits/types/struct_timeval.h \
 /usr/include/x86_64-linux-gnu/bits/types/struct_timespec.h \
 /usr/include/x86_64-linux-gnu/bits/pthreadtypes.h \
 /usr/include/x86_64-linux-gnu/bits/thread-shared-types.h \
 /usr/include/x86_64-linux-gnu/bits/pthreadtypes-arch.h \
 /usr/include/x86_64-linux-gnu/bits/atomic_wide_counter.h \
 /usr/include/x86_64-linux-gnu/bits/struct_mutex.h \
 /usr/include/x86_64-linux-gnu/bits/struct_rwlock.h /usr/include/alloca.h \
 /usr/include/x86_64-linux-gnu/bits/stdlib-bsearch.h \
 /usr/include/x86_64-linux-gnu/bits/stdlib-float.h /usr/include/string.h \
 /usr/include/strings.h /usr/include/time.h \
 /usr/include/x86_64-linux-gnu/bits/time.h \
 /usr/include/x86_64-linux-gnu/bits/timex.h \
 /usr/include/x86_64-linux-gnu/bits/types/struct_tm.h \
 /usr/include/x86_64-linux-gnu/bits/types/struct_itimerspec.h \
 /usr/lib/gcc/x86_64-linux-gnu/12/include/float.h /usr/include/math.h \
 /usr/include/x86_64-linux-gnu/bits/math-vector.h \
 /usr/include/x86_64-linux-gnu/bits/libm-simd-decl-stubs.h \
 /usr/include/x86_64-linux-gnu/bits/flt-eval-method.h \
 /usr/include/x86_64-linux-gnu/bits/fp-logb.h \
 /usr/include/x86_64-linux-gnu/bits/fp-fast.h \
 /usr/include/x86_64-linux-gnu/bits/mathcalls-helper-functions.h \
 /usr/include/x86_64-linux-gnu/bits/mathcalls.h \
 /usr/include/x86_64-linux-gnu/bits/mathcalls-narrow.h \
 /usr/include/x86_64-linux-gnu/bits/iscanonical.h /usr/include/signal.h \
 /usr/include/x86_64-linux-gnu/bits/signum-generic.h \
 /usr/include/x86_64-linux-gnu/bits/signum-arch.h \
 /usr/include/x86_64-linux-gnu/bits/types/sig_atomic_t.h \
 /usr/include/x86_64-linux-gnu/bits/types/siginfo_t.h \
 /usr/include/x86_64-linux-gnu/bits/types/__sigval_t.h \
 /usr/include/x86_64-linux-gnu/bits/siginfo-arch.h \
 /usr/include/x86_64-linux-gnu/bits/siginfo-consts.h \
 /usr/include/x86_64-linux-gnu/bits/siginfo-consts-arch.h \
 /usr/include/x86_64-linux-gnu/bits/types/sigval_t.h \
 /usr/include/x86_64-linux-gnu/bits/types/sigevent_t.h \
 /usr/include/x86_64-linux-gnu/bits/sigevent-consts.h \
 /usr/include/x86_64-linux-gnu/bits/sigaction.h \
 /usr/include/x86_64-linux-gnu/bits/sigcontext.h \
 /usr/include/x86_64-linux-gnu/bits/types/stack_t.h \
 /usr/include/x86_64-linux-gnu/sys/ucontext.h \
 /usr/include/x86_64-linux-gnu/bits/sigstack.h \
 /usr/include/x86_64-linux-gnu/bits/sigstksz.h /usr/include/unistd.h \
 /usr/include/x86_64-linux-gnu/bits/posix_opt.h \
 /usr/include/x86_64-linux-gnu/bits/environments.h \
 /usr/include/x86_64-linux-gnu/bits/confname.h \
 /usr/include/x86_64-linux-gnu/bits/getopt_posix.h \
 /usr/include/x86_64-linux-gnu/bits/getopt_core.h \
 /usr/include/x86_64-linux-gnu/bits/unistd_ext.h \
 /usr/include/linux/close_range.h \
 /usr/include/x86_64-linux-gnu/bits/ss_flags.h \
 /usr/include/x86_64-linux-gnu/bits/types/struct_sigstack.h \
 /usr/include/x86_64-linux-gnu/bits/sigthread.h \
 /usr/include/x86_64-linux-gnu/bits/signal_ext.h /usr/include/setjmp.h \
 /usr/include/x86_64-linux-gnu/bits/setjmp.h \
 /usr/include/x86_64-linux-gnu/bits/types/struct___jmp_buf_tag.h \
 /usr/include/assert.h /usr/include/fcntl.h \
 /usr/include/x86_64-linux-gnu/bits/fcntl.h \
 /usr/include/x86_64-linux-gnu/bits/fcntl-linux.h \
 /usr/include/x86_64-linux-gnu/bits/types/struct_iovec.h \
 /usr/include/linux/falloc.h /usr/include/x86_64-linux-gnu/bits/stat.h \
 /usr/include/x86_64-linux-gnu/bits/struct_stat.h /usr/include/netdb.h \
 /usr/include/netinet/in.h /usr/include/x86_64-linux-gnu/sys/socket.h \
 /usr/include/x86_64-linux-gnu/bits/socket.h \
 /usr/include/x86_64-linux-gnu/bits/socket_type.h \
 /usr/include/x86_64-linux-gnu/bits/sockaddr.h \
 /usr/include/x86_64-linux-gnu/asm/socket.h \
 /usr/include/asm-generic/socket.h /usr/include/linux/posix_types.h \
 /usr/include/linux/stddef.h \
 /usr/include/x86_64-linux-gnu/asm/posix_types.h \
 /usr/include/x86_64-linux-gnu/asm/posix_types_64.h \
 /usr/include/asm-generic/posix_types.h \
 /usr/include/x86_64-linux-gnu/asm/bitsperlong.h \
 /usr/include/asm-generic/bitsperlong.h \
 /usr/include/x86_64-linux-gnu/asm/sockios.h \
 /usr/include/asm-generic/sockios.h \
 /usr/include/x86_64-linux-gnu/bits/types/struct_osockaddr.h \
 /usr/include/x86_64-linux-gnu/bits/in.h /usr/include/rpc/netdb.h \
 /usr/include/x86_64-linux-gnu/bits/netdb.h /usr/include/pthread.h \
 /usr/include/sched.h /usr/include/x86_64-linux-gnu/bits/sched.h \
 /usr/include/x86_64-linux-gnu/bits/types/struct_sched_param.h \
 /usr/include/x86_64-linux-gnu/bits/cpu-set.h /usr/include/dirent.h \
 /usr/include/x86_64-linux-gnu/bits/dirent.h \
 /usr/include/x86_64-linux-gnu/bits/dirent_ext.h /usr/include/pwd.h \
 /usr/include/grp.h /usr/include/utime.h /usr/include/inttypes.h \
 /usr/include/syslog.h /usr/include/x86_64-linux-gnu/sys/syslog.h \
 /usr/include/x86_64-linux-gnu/bits/syslog-path.h \
 /usr/include/x86_64-linux-gnu/sys/param.h \
 /usr/include/x86_64-linux-gnu/bits/param.h /usr/include/linux/param.h \
 /usr/include/x86_64-linux-gnu/asm/param.h \
 /usr/include/asm-generic/param.h \
 /usr/include/x86_64-linux-gnu/sys/time.h \
 /usr/include/x86_64-linux-gnu/sys/stat.h \
 /usr/include/x86_64-linux-gnu/bits/statx.h /usr/include/linux/stat.h \
 /usr/include/linux/types.h /usr/include/x86_64-linux-gnu/asm/types.h \
 /usr/include/asm-generic/types.h /usr/include/asm-generic/int-ll64.h \
 /usr/include/x86_64-linux-gnu/bits/statx-generic.h \
 /usr/include/x86_64-linux-gnu/bits/types/struct_statx_timestamp.h \
 /usr/include/x86_64-linux-gnu/bits/types/struct_statx.h \
 /usr/include/x86_64-linux-gnu/sys/ioctl.h \
 /usr/include/x86_64-linux-gnu/bits/ioctls.h \
 /usr/include/x86_64-linux-gnu/asm/ioctls.h \
 /usr/include/asm-generic/ioctls.h /usr/include/linux/ioctl.h \
 /usr/include/x86_64-linux-gnu/asm/ioctl.h \
 /usr/include/asm-generic/ioctl.h \
 /usr/include/x86_64-linux-gnu/bits/ioctl-types.h \
 /usr/include/x86_64-linux-gnu/sys/ttydefaults.h \
 /usr/include/x86_64-linux-gnu/sys/file.h \
 /usr/include/x86_64-linux-gnu/sys/wait.h \
 /usr/include/x86_64-linux-gnu/bits/types/idtype_t.h \
 /usr/include/x86_64-linux-gnu/sys/un.h \
 /usr/include/x86_64-linux-gnu/sys/uio.h \
 /usr/include/x86_64-linux-gnu/bits/uio-ext.h /usr/include/ifaddrs.h \
 /usr/include/arpa/inet.h /usr/include/netinet/tcp.h /usr/include/zmq.h \
 /usr/include/zactor.h /usr/include/zarmour.h /usr/include/zcert.h \
 /usr/include/zcertstore.h /usr/include/zchunk.h /usr/include/zclock.h \
 /usr/include/zconfig.h /usr/include/zdigest.h /usr/include/zdir.h \
 /usr/include/zdir_patch.h /usr/include/zfile.h /usr/include/zframe.h \
 /usr/include/zhash.h /usr/include/zhashx.h /usr/include/ziflist.h \
 /usr/include/zlist.h /usr/include/zlistx.h /usr/include/zloop.h \
 /usr/include/zmsg.h /usr/include/zpoller.h /usr/include/zsock.h \
 /usr/include/zstr.h /usr/include/zsys.h /usr/include/zuuid.h \
 /usr/include/zauth.h /usr/include/zbeacon.h /usr/include/zgossip.h \
 /usr/include/czmq.h /usr/include/zmonitor.h /usr/include/zproxy.h \
 /usr/include/zrex.h /usr/include/jansson.h /usr/include/jansson_config.h \
 /work/main/include/mt/util.h /work/main/include/mt/version.h \
 /usr/include/sodium.h /usr/include/sodium/version.h \
 /usr/include/sodium/export.h /usr/include/sodium/core.h \
 /usr/include/sodium/crypto_aead_aes256gcm.h \
 /usr/include/sodium/crypto_aead_chacha20poly1305.h \
 /usr/include/sodium/crypto_aead_xchacha20poly1305.h \
 /usr/include/sodium/crypto_auth.h \
 /usr/include/sodium/crypto_auth_hmacsha512256.h \
 /usr/include/sodium/crypto_auth_hmacsha512.h \
 /usr/include/sodium/crypto_hash_sha512.h \
 /usr/include/sodium/crypto_auth_hmacsha256.h \
 /usr/include/sodium/crypto_hash_sha256.h \
 /usr/include/sodium/crypto_auth_hmacsha512.h \
 /usr/include/sodium/crypto_auth_hmacsha512256.h \
 /usr/include/sodium/crypto_box.h \
 /usr/include/sodium/crypto_box_curve25519xsalsa20poly1305.h \
 /usr/include/sodium/crypto_stream_xsalsa20.h \
 /usr/include/sodium/crypto_box_curve25519xsalsa20poly1305.h \
 /usr/include/sodium/crypto_core_hsalsa20.h \
 /usr/include/sodium/crypto_core_hchacha20.h \
 /usr/include/sodium/crypto_core_salsa20.h \
 /usr/include/sodium/crypto_core_salsa2012.h \
 /usr/include/sodium/crypto_core_salsa208.h \
 /usr/include/sodium/crypto_generichash.h \
 /usr/include/sodium/crypto_generichash_blake2b.h \
 /usr/include/sodium/crypto_generichash_blake2b.h \
 /usr/include/sodium/crypto_hash.h \
 /usr/include/sodium/crypto_hash_sha256.h \
 /usr/include/sodium/crypto_hash_sha512.h \
 /usr/include/sodium/crypto_kdf.h \
 /usr/include/sodium/crypto_kdf_blake2b.h \
 /usr/include/sodium/crypto_kdf_blake2b.h /usr/include/sodium/crypto_kx.h \
 /usr/include/sodium/crypto_onetimeauth.h \
 /usr/include/sodium/crypto_onetimeauth_poly1305.h \
 /usr/include/sodium/crypto_onetimeauth_poly1305.h \
 /usr/include/sodium/crypto_pwhash.h \
 /usr/include/sodium/crypto_pwhash_argon2i.h \
 /usr/include/sodium/crypto_pwhash_argon2id.h \
 /usr/include/sodium/crypto_pwhash_argon2i.h \
 /usr/include/sodium/crypto_scalarmult.h \
 /usr/include/sodium/crypto_scalarmult_curve25519.h \
 /usr/include/sodium/crypto_scalarmult_curve25519.h \
 /usr/include/sodium/crypto_secretbox.h \
 /usr/include/sodium/crypto_secretbox_xsalsa20poly1305.h \
 /usr/include/sodium/crypto_secretbox_xsalsa20poly1305.h \
 /usr/include/sodium/crypto_secretstream_xchacha20poly1305.h \
 /usr/include/sodium/crypto_aead_xchacha20poly1305.h \
 /usr/include/sodium/crypto_stream_chacha20.h \
 /usr/include/sodium/crypto_shorthash.h \
 /usr/include/sodium/crypto_shorthash_siphash24.h \
 /usr/include/sodium/crypto_shorthash_siphash24.h \
 /usr/include/sodium/crypto_sign.h \
 /usr/include/sodium/crypto_sign_ed25519.h \
 /usr/include/sodium/crypto_sign_ed25519.h \
 /usr/include/sodium/crypto_stream.h \
 /usr/include/sodium/crypto_stream_chacha20.h \
 /usr/include/sodium/crypto_stream_salsa20.h \
 /usr/include/sodium/crypto_stream_xsalsa20.h \
 /usr/include/sodium/crypto_verify_16.h \
 /usr/include/sodium/crypto_verify_32.h \
 /usr/include/sodium/crypto_verify_64.h /usr/include/sodium/randombytes.h \
 /usr/include/sodium/randombytes_internal_random.h \
 /usr/include/sodium/randombytes.h \
 /usr/include/sodium/randombytes_sysrandom.h \
 /usr/include/sodium/runtime.h /usr/include/sodium/utils.h \
 /usr/include/sodium/crypto_box_curve25519xchacha20poly1305.h \
 /usr/include/sodium/crypto_stream_xchacha20.h \
 /usr/include/sodium/crypto_core_ed25519.h \
 /usr/include/sodium/crypto_core_ristretto255.h \
 /usr/include/sodium/crypto_scalarmult_ed25519.h \
 /usr/include/sodium/crypto_scalarmult_ristretto255.h \
 /usr/include/sodium/crypto_secretbox_xchacha20poly1305.h \
 /usr/include/sodium/crypto_pwhash_scryptsalsa208sha256.h \
 /usr/include/sodium/crypto_stream_salsa2012.h \
 /usr/include/sodium/crypto_stream_salsa208.h \
 /usr/include/sodium/crypto_stream_xchacha20.h
