/**
 * A tiny FinBERT-style sentiment classifier for tests, as a model folder's files: a BERT-like
 * WordPiece `tokenizer.json` and a `model.onnx` whose logits are a bag of word embeddings,
 * Gather(table, input_ids) · attention_mask summed over the sequence, written through the
 * project's protobuf subset as src/core/onnx-export.ts writes its graphs.
 */
import { ATTR_INT, ONNX_FLOAT, modelProtoType } from "../../src/core/onnx-proto.js"

const ONNX_INT64 = 7

/** The graph's logit columns, always in this order; the label files say how to read them. */
export const NATIVE_LABELS = ["positive", "negative", "neutral"] as const

export const POSITIVE_WORDS = ["beats", "surges", "record", "profit"] as const
export const NEGATIVE_WORDS = ["misses", "plunges", "lawsuit", "loss"] as const
const NEUTRAL_WORDS = ["apple", "shares", "stock", "estimates", "on", "after", "the", "quarter", "to", "a", ".", ","] as const
const SPECIAL = ["[PAD]", "[UNK]", "[CLS]", "[SEP]"] as const
export const VOCAB: ReadonlyArray<string> = [...SPECIAL, ...POSITIVE_WORDS, ...NEGATIVE_WORDS, ...NEUTRAL_WORDS]

/** One embedding row per token: [positive, negative, neutral] logits it adds. */
const embeddingRow = (token: string): [number, number, number] =>
  (POSITIVE_WORDS as ReadonlyArray<string>).includes(token)
    ? [2, 0, 0]
    : (NEGATIVE_WORDS as ReadonlyArray<string>).includes(token)
      ? [0, 2, 0]
      : token === "[PAD]"
        ? [0, 50, 0] // a padded position that leaks past the mask turns any article negative
        : [0, 0, 0]

export const tokenizerJson = (options: { readonly maxLength?: number } = {}) => ({
  version: "1.0",
  truncation: options.maxLength === undefined ? null : { direction: "Right", max_length: options.maxLength, strategy: "LongestFirst", stride: 0 },
  padding: null,
  added_tokens: SPECIAL.map((content, id) => ({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true })),
  normalizer: { type: "BertNormalizer", clean_text: true, handle_chinese_chars: true, strip_accents: null, lowercase: true },
  pre_tokenizer: { type: "BertPreTokenizer" },
  post_processor: {
    type: "TemplateProcessing",
    single: [{ SpecialToken: { id: "[CLS]", type_id: 0 } }, { Sequence: { id: "A", type_id: 0 } }, { SpecialToken: { id: "[SEP]", type_id: 0 } }],
    pair: [
      { SpecialToken: { id: "[CLS]", type_id: 0 } },
      { Sequence: { id: "A", type_id: 0 } },
      { SpecialToken: { id: "[SEP]", type_id: 0 } },
      { Sequence: { id: "B", type_id: 1 } },
      { SpecialToken: { id: "[SEP]", type_id: 1 } }
    ],
    special_tokens: {
      "[CLS]": { id: "[CLS]", ids: [2], tokens: ["[CLS]"] },
      "[SEP]": { id: "[SEP]", ids: [3], tokens: ["[SEP]"] }
    }
  },
  decoder: { type: "WordPiece", prefix: "##", cleanup: true },
  model: { type: "WordPiece", unk_token: "[UNK]", continuing_subword_prefix: "##", max_input_chars_per_word: 100, vocab: Object.fromEntries(VOCAB.map((w, i) => [w, i])) }
})

export type ClassifierInput = "input_ids" | "attention_mask" | "token_type_ids"

export interface TextClassifierOptions {
  /** The inputs the graph declares; default input_ids and attention_mask. */
  readonly inputs?: ReadonlyArray<ClassifierInput>
  /** How many logit columns the graph outputs (the first ones of {@link NATIVE_LABELS}, then zeros); default 3. */
  readonly outputs?: number
  /** One more int64 input the graph declares but does not use (as `position_ids` in some exports). */
  readonly extraInput?: string
}

const float32LE = (values: ReadonlyArray<number>): Uint8Array => new Uint8Array(Float32Array.from(values).buffer)
const int64LE = (values: ReadonlyArray<number>): Uint8Array => new Uint8Array(BigInt64Array.from(values.map(BigInt)).buffer)

const valueInfo = (name: string, elemType: number, dims: ReadonlyArray<number | string>) => ({
  name,
  type: { tensor_type: { elem_type: elemType, shape: { dim: dims.map((d) => (typeof d === "string" ? { dim_param: d } : { dim_value: d })) } } }
})

/** The classifier's `model.onnx` bytes: logits [batch, outputs] = Σ over unmasked positions of table[input_ids]. */
export const textClassifierOnnx = (options: TextClassifierOptions = {}): Uint8Array => {
  const inputs = options.inputs ?? ["input_ids", "attention_mask"]
  const columns = options.outputs ?? 3
  const row = (token: string) => Array.from({ length: columns }, (_, c) => embeddingRow(token)[c] ?? 0)
  const initializer: Array<object> = [
    { name: "embeddings", dims: [VOCAB.length, columns], data_type: ONNX_FLOAT, raw_data: float32LE(VOCAB.flatMap(row)) },
    { name: "axis_1", dims: [1], data_type: ONNX_INT64, raw_data: int64LE([1]) }
  ]
  const node: Array<object> = [{ name: "embed", op_type: "Gather", input: ["embeddings", "input_ids"], output: ["embedded"], attribute: [{ name: "axis", type: ATTR_INT, i: 0 }] }]
  let x = "embedded"
  if (inputs.includes("token_type_ids")) {
    initializer.push({ name: "type_embeddings", dims: [2, columns], data_type: ONNX_FLOAT, raw_data: float32LE(new Array(2 * columns).fill(0)) })
    node.push(
      { name: "embed_types", op_type: "Gather", input: ["type_embeddings", "token_type_ids"], output: ["typed"], attribute: [{ name: "axis", type: ATTR_INT, i: 0 }] },
      { name: "add_types", op_type: "Add", input: [x, "typed"], output: ["with_types"] }
    )
    x = "with_types"
  }
  if (inputs.includes("attention_mask")) {
    initializer.push({ name: "axis_2", dims: [1], data_type: ONNX_INT64, raw_data: int64LE([2]) })
    node.push(
      { name: "mask_float", op_type: "Cast", input: ["attention_mask"], output: ["mask_f"], attribute: [{ name: "to", type: ATTR_INT, i: ONNX_FLOAT }] },
      { name: "mask_expand", op_type: "Unsqueeze", input: ["mask_f", "axis_2"], output: ["mask_3d"] },
      { name: "mask_apply", op_type: "Mul", input: [x, "mask_3d"], output: ["masked"] }
    )
    x = "masked"
  }
  node.push({ name: "pool", op_type: "ReduceSum", input: [x, "axis_1"], output: ["logits"], attribute: [{ name: "keepdims", type: ATTR_INT, i: 0 }] })
  const model = {
    ir_version: 8,
    opset_import: [{ domain: "", version: 13 }],
    producer_name: "pytorch",
    producer_version: "2.1.0",
    graph: {
      name: "main_graph",
      node,
      initializer,
      input: [...inputs, ...(options.extraInput === undefined ? [] : [options.extraInput])].map((name) => valueInfo(name, ONNX_INT64, ["batch", "sequence"])),
      output: [valueInfo("logits", ONNX_FLOAT, ["batch", columns])]
    }
  }
  const T = modelProtoType()
  const problem = T.verify(model)
  if (problem !== null) throw new Error(problem)
  return T.encode(T.fromObject(model)).finish()
}

export interface ClassifierFolderOptions extends TextClassifierOptions {
  /** Written as labels.json when given. */
  readonly labelsJson?: ReadonlyArray<string>
  /** Written as config.json's id2label when given. */
  readonly id2label?: ReadonlyArray<string>
  readonly maxLength?: number
}

/** A model folder's files (for tmpTree): model.onnx, tokenizer.json and the label files asked for. */
export const textClassifierFiles = (options: ClassifierFolderOptions = {}): Record<string, string | Uint8Array> => ({
  "model.onnx": textClassifierOnnx(options),
  "tokenizer.json": JSON.stringify(tokenizerJson(options.maxLength === undefined ? {} : { maxLength: options.maxLength })),
  ...(options.labelsJson === undefined ? {} : { "labels.json": JSON.stringify(options.labelsJson) }),
  ...(options.id2label === undefined
    ? {}
    : { "config.json": JSON.stringify({ architectures: ["BertForSequenceClassification"], id2label: Object.fromEntries(options.id2label.map((l, i) => [String(i), l])) }) })
})
