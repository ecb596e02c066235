// The C library as both builds see it. The host build imports Glibc (Swift's overlay) as well;
// the Embedded build (aarch64, `tools/arm/build`) has no Glibc module and imports only this one.
// Wrappers for what Swift cannot import: the errno macro, variadic open() and snprintf(), MAP_FAILED; and (in
// bora_libc.c, no declaration needed) the float-parsing hooks Embedded Swift's Double(String) calls.
#ifndef BORA_LIBC_H
#define BORA_LIBC_H

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <pwd.h>
#include <semaphore.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/// The calling thread's errno.
int bora_errno(void);
/// Sets the calling thread's errno.
void bora_set_errno(int value);
/// open(2) with its mode argument always passed (the variadic form does not import into Swift).
int bora_open(const char *path, int flags, unsigned mode);
/// mmap(2)'s failure value.
void *bora_map_failed(void);
/// Writes `length` bytes of `text` to standard error or output (fd 2 / 1) in one write(2).
long bora_write_text(int fd, const char *text, size_t length);
/// connect(2) with a plain address pointer (glibc's _GNU_SOURCE declaration takes a transparent
/// union, which Swift cannot pass).
int bora_connect(int fd, const void *address, unsigned length);
/// signal(signo, SIG_IGN): the SIG_IGN macro (a cast function pointer) does not import into Swift.
void bora_ignore_signal(int signo);
/// snprintf(buffer, size, format, value) for a format with exactly one double conversion
/// (`%g`, `%.2f`, …; snprintf is variadic and does not import into Embedded Swift).
int bora_format_double(char *buffer, size_t size, const char *format, double value);

#endif
