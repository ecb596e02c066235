import Testing
@testable import BoraAudio
