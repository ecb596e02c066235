import Testing
@testable import BoraIntent
