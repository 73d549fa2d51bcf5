// The Llama model lives here; see Llama.swift.
