// See include/bora_libc.h.
#define _GNU_SOURCE   // strtod_l, strtof_l
#include "bora_libc.h"
#include <locale.h>

int bora_errno(void) { return errno; }
void bora_set_errno(int value) { errno = value; }
int bora_open(const char *path, int flags, unsigned mode) { return open(path, flags, (mode_t)mode); }
void *bora_map_failed(void) { return MAP_FAILED; }
long bora_write_text(int fd, const char *text, size_t length) { return (long)write(fd, text, length); }
int bora_format_double(char *buffer, size_t size, const char *format, double value) { return snprintf(buffer, size, format, value); }
int bora_connect(int fd, const void *address, unsigned length) { return connect(fd, (const struct sockaddr *)address, (socklen_t)length); }
void bora_ignore_signal(int signo) { signal(signo, SIG_IGN); }

#ifdef BORA_PROVIDE_ARC4RANDOM
// The Embedded Swift runtime draws its random seed (hashing, SystemRandomNumberGenerator) from
// arc4random_buf, which glibc only has since 2.36. tools/arm/build defines it here over
// getrandom (glibc 2.25) so the aarch64 binary runs on boards with glibc 2.34 and 2.35 too.
#include <sys/random.h>
void arc4random_buf(void *buffer, size_t length) {
    unsigned char *p = buffer;
    while (length > 0) {
        ssize_t n = getrandom(p, length, 0);
        if (n < 0) {
            if (errno == EINTR) continue;
            abort();   // the kernel has no entropy source: nothing sane to return
        }
        p += n;
        length -= (size_t)n;
    }
}
#endif

// Float parsing for Embedded Swift: `Double(String)` and `Float(String)` call these runtime hooks,
// which the Embedded standard library leaves to the platform. Same contract as the host runtime's
// (swift/stdlib/public/stubs/Stubs.cpp): parse with the C locale, return the end of the parsed
// text (Swift then requires it to be the end of the string), or NULL when out of range.
static locale_t bora_c_locale(void) {
    static locale_t c;   // a race here at worst makes one extra locale object
    if (!c) c = newlocale(LC_ALL_MASK, "C", (locale_t)0);
    return c;
}
const char *_swift_stdlib_strtod_clocale(const char *nptr, double *out) {
    char *end;
    errno = 0;
    double r = strtod_l(nptr, &end, bora_c_locale());
    *out = r;
    if (errno == ERANGE && (r == HUGE_VAL || r == -HUGE_VAL || r == 0.0)) return NULL;
    return end;
}
const char *_swift_stdlib_strtof_clocale(const char *nptr, float *out) {
    char *end;
    errno = 0;
    float r = strtof_l(nptr, &end, bora_c_locale());
    *out = r;
    if (errno == ERANGE && (r == HUGE_VALF || r == -HUGE_VALF || r == 0.0f)) return NULL;
    return end;
}
