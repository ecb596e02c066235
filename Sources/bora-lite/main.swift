// The host entry point of bora-lite (see BoraLite.swift); the Embedded build's is EmbeddedEntry.swift.
#if canImport(Glibc)
import Glibc
#endif

exit(boraLite(CommandLine.argc, CommandLine.unsafeArgv))
