import Testing
@testable import BoraAction
