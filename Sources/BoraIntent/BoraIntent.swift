// BoraIntent — context grammars, compiler to Whisper token automata, intent results.
