import Testing
@testable import BoraSpeech
