// See include/bora_libc.h.
#include "bora_libc.h"

int bora_errno(void) { return errno; }
void bora_set_errno(int value) { errno = value; }
int bora_open(const char *path, int flags, unsigned mode) { return open(path, flags, (mode_t)mode); }
void *bora_map_failed(void) { return MAP_FAILED; }
long bora_write_text(int fd, const char *text, size_t length) { return (long)write(fd, text, length); }

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
