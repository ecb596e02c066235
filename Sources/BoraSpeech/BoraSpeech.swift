// BoraSpeech — Whisper speech recognition (log-mel front end, encoder, decoder, search).
