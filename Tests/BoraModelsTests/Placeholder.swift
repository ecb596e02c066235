import Testing
@testable import BoraModels
