// BoraModels: the pinned model catalog.
