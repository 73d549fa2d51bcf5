/// The frozen reference policy of RLHF when the actor trains LoRA adapters: the base model
/// without them, computed from the very same weights.
extension Llama {
    /// A new model object over this model's parameter block (the same memory, not a copy) with
    /// no adapters attached and `trainsBase` off: the base model as it is without the adapters.
    ///
    /// The reference role reads its log-probabilities while the actor, with its adapters attached
    /// and training, keeps running: neither object's adapters, flags or gradients are the other's,
    /// and under LoRA nothing writes the base block (the optimizer updates only the adapters).
    /// What would change it: `mergeAdapters()` on the actor, training the base
    /// (`attach(_:trainBase: true)`), or loading weights into it; the reference then sees them.
    /// The new object never allocates a base gradient through the LM head or decoder backward.
    public func sharingBaseWithoutAdapters() -> Llama {
        Llama(sharingParametersOf: self)
    }

    /// Whether `other` reads the same parameter block as this model.
    public func sharesParameters(with other: Llama) -> Bool {
        parameters === other.parameters
    }
}
