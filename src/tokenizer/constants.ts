// Token-level constants shared by the tokenizer, data pipeline and model, as VILA defines them in
// `llava/constants.py` (VILA v1.0 / VILA1.5): the image placeholder id spliced out by the model and
// the label id ignored by the loss.

/** Id that stands for one image in `input_ids`; the model replaces it by the image's embeddings. */
export const IMAGE_TOKEN_INDEX = -200;

/** Label id that the loss ignores (PyTorch `ignore_index`). */
export const IGNORE_INDEX = -100;

/** The literal prompt text that marks where an image goes. In VILA1.5 it is NOT a vocabulary
 * token: prompts are split on it and each chunk is tokenized on its own (see image_tokens.ts). */
export const DEFAULT_IMAGE_TOKEN = "<image>";

/** What VILA writes instead of a literal "<image>" found inside document/caption text, so that
 * an HTML-ish `<image>` in MMC4/COYO text does not become a placeholder. */
export const ESCAPED_IMAGE_TOKEN = "<IMAGE>";
