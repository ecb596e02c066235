import ArgumentParser
// Placeholder until the GGUF helper lands the real command.
struct InspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "inspect", abstract: "Print a GGUF file's metadata and tensors.")
    @Argument var file: String
}
