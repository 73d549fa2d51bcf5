// TEMPORARY stand-in until the checkpoint branch lands; same API.
public struct LlamaConfig: Codable, Sendable, Equatable {
    public var architecture: String
    public var modelType: String
    public var vocabSize: Int
    public var hiddenSize: Int
    public var intermediateSize: Int
    public var numHiddenLayers: Int
    public var numAttentionHeads: Int
    public var numKeyValueHeads: Int
    public var headDim: Int
    public var maxPositionEmbeddings: Int
    public var rmsNormEps: Float
    public var ropeTheta: Double
    public var tieWordEmbeddings: Bool
    public var attentionBias: Bool
    public var bosTokenID: Int?
    public var eosTokenID: Int?
    public var eosTokenIDs: [Int] = []
    public var padTokenID: Int?
    public var numLabels: Int?
    public init(vocabSize: Int, hiddenSize: Int, intermediateSize: Int, numHiddenLayers: Int, numAttentionHeads: Int, numKeyValueHeads: Int? = nil, headDim: Int? = nil, maxPositionEmbeddings: Int = 2048, rmsNormEps: Float = 1e-5, ropeTheta: Double = 10000, tieWordEmbeddings: Bool = false, attentionBias: Bool = false, architecture: String = "LlamaForCausalLM", modelType: String = "llama") {
        self.vocabSize = vocabSize; self.hiddenSize = hiddenSize; self.intermediateSize = intermediateSize
        self.numHiddenLayers = numHiddenLayers; self.numAttentionHeads = numAttentionHeads
        self.numKeyValueHeads = numKeyValueHeads ?? numAttentionHeads; self.headDim = headDim ?? hiddenSize / numAttentionHeads
        self.maxPositionEmbeddings = maxPositionEmbeddings; self.rmsNormEps = rmsNormEps; self.ropeTheta = ropeTheta
        self.tieWordEmbeddings = tieWordEmbeddings; self.attentionBias = attentionBias; self.architecture = architecture; self.modelType = modelType
    }
}
