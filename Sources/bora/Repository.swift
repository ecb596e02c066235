import Foundation

/// Finds files that ship beside the binary in the repository (catalog, tools/).
/// Order: an explicit environment variable, then the directories above the executable,
/// then the current directory and its parents.
enum Repository {
    static func root() -> String? {
        if let r = ProcessInfo.processInfo.environment["BORA_ROOT"], !r.isEmpty { return r }
        var candidates: [URL] = []
        if let exe = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
            candidates.append(URL(fileURLWithPath: exe).deletingLastPathComponent())
        }
        candidates.append(URL(fileURLWithPath: FileManager.default.currentDirectoryPath))
        for start in candidates {
            var dir = start
            for _ in 0..<8 {
                if FileManager.default.fileExists(atPath: dir.appendingPathComponent("Models/catalog.json").path) {
                    return dir.path
                }
                let parent = dir.deletingLastPathComponent()
                if parent.path == dir.path { break }
                dir = parent
            }
        }
        return nil
    }

    static func catalogPath() throws -> String {
        if let c = ProcessInfo.processInfo.environment["BORA_CATALOG"], !c.isEmpty { return c }
        guard let root = root() else {
            throw BoraRuntimeError("cannot find Models/catalog.json; run bora from the Bora repository or set BORA_CATALOG=/path/to/catalog.json")
        }
        return "\(root)/Models/catalog.json"
    }

    static func tool(_ name: String) throws -> String {
        guard let root = root(), FileManager.default.isExecutableFile(atPath: "\(root)/tools/\(name)") else {
            throw BoraRuntimeError("cannot find tools/\(name); run bora from the Bora repository or set BORA_ROOT")
        }
        return "\(root)/tools/\(name)"
    }
}
