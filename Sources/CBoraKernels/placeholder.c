// CBoraKernels: see include/bora_kernels.h. Implementations live in kernels_*.c.
