#if hasFeature(Embedded)
/// The Embedded build's entry point: Embedded Swift has no `CommandLine`, so the C `main`
/// receives argc/argv itself (tools/arm/build compiles this file instead of main.swift).
@_cdecl("main")
func cMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> Int32 { boraLite(argc, argv) }
#endif
