import Testing
@testable import BoraGGUF
