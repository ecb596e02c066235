import Testing
@testable import BoraCore
