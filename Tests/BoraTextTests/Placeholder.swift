import Testing
@testable import BoraText
