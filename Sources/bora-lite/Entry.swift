// The entry point of both builds: C's `main` receives argc/argv and returns boraLite's exit code
// (Embedded Swift has no `CommandLine`, and returning the code needs no `exit` call). On the host,
// SwiftPM links an executable's `main` to the symbol `<module>_main`, here `bora_lite_main`.
#if hasFeature(Embedded)
@_cdecl("main")
func cMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> Int32 { boraLite(argc, argv) }
#else
@_cdecl("bora_lite_main")
func cMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> Int32 { boraLite(argc, argv) }
#endif
