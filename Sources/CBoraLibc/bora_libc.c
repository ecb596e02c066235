// See include/bora_libc.h.
#include "bora_libc.h"

int bora_errno(void) { return errno; }
void bora_set_errno(int value) { errno = value; }
int bora_open(const char *path, int flags, unsigned mode) { return open(path, flags, (mode_t)mode); }
void *bora_map_failed(void) { return MAP_FAILED; }
long bora_write_text(int fd, const char *text, size_t length) { return (long)write(fd, text, length); }
int bora_format_double(char *buffer, size_t size, const char *format, double value) { return snprintf(buffer, size, format, value); }
int bora_connect(int fd, const void *address, unsigned length) { return connect(fd, (const struct sockaddr *)address, (socklen_t)length); }
