// BoraAction — actions file, policy, dispatch, audit trail, the listen loop.
