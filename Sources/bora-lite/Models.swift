// bora-lite's model commands and catalog names (both builds; see BoraLite.swift):
//
//   bora-lite models verify [NAME...]   sha256 of the fetched model files against Models/catalog.json
//                                       (found beside the binary, in the working directory or its
//                                       parents, or $BORA_CATALOG; models in $BORA_MODELS or
//                                       ~/.cache/bora/models), as `bora models verify`
//
// `--model`/`--vad-model` of intent and listen take a catalog name or a GGUF path, as on the host.
import BoraModels

/// A catalog name's GGUF, or `nameOrPath` when it is a path (exit 1 when it cannot be found).
func modelPath(_ nameOrPath: String) throws(Failure) -> String {
    do { return try ModelLocator.resolve(nameOrPath) } catch { throw Failure(message: error.description, code: 1) }
}

func modelsVerify(_ names: [String]) throws(Failure) {
    let catalog: Catalog, cache: ModelCache
    do { (catalog, cache) = try ModelLocator.load() } catch { throw Failure(message: error.description, code: 1) }
    var models: [CatalogModel] = []
    if names.isEmpty { models = catalog.models }
    for name in names {
        do { models.append(try catalog.model(named: name)) } catch { throw Failure(message: error.description, code: 1) }
    }
    var failures = 0, special = 0
    var out = ""
    for m in models {
        for check in cache.verify(m) {
            if check.problem != nil {
                failures += 1
                if check.notRegularFile { special += 1 }
            }
            for line in check.reportLines(model: m.name) { out += line + "\n" }
        }
    }
    emit(1, out)
    if special > 0 {
        throw Failure(message: "\(special) model path(s) are not regular files (FIFO, device or a link to one) and were refused unread; \(failures) file(s) failed in all", code: 3)
    }
    if failures > 0 { throw Failure(message: "\(failures) model file(s) failed verification", code: 1) }
}
