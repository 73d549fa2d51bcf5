#ifndef CSENTENCEPIECE_H
#define CSENTENCEPIECE_H
/* A small C ABI over the SentencePiece C++ library, so Swift can load, use and train models.
   Every function that can fail returns NULL or a negative value and writes a message into
   `err` (a caller-owned buffer of `err_len` bytes). */
#include <stddef.h>
#include <stdint.h>
#ifdef __cplusplus
extern "C" {
#endif

typedef struct spm_processor spm_processor;

/* Loads a serialized model (`tokenizer.model`). */
spm_processor *spm_load(const char *path, char *err, size_t err_len);
/* Loads a model from bytes already in memory. */
spm_processor *spm_load_from_bytes(const void *bytes, size_t len, char *err, size_t err_len);
void spm_free(spm_processor *p);

int32_t spm_piece_count(const spm_processor *p);
int32_t spm_bos_id(const spm_processor *p);
int32_t spm_eos_id(const spm_processor *p);
int32_t spm_pad_id(const spm_processor *p);
int32_t spm_unk_id(const spm_processor *p);
/* Returns the id of `piece`, or the unk id. */
int32_t spm_piece_to_id(const spm_processor *p, const char *piece);
/* Copies the piece text of `id` into out (NUL-terminated); returns its length or -1. */
int32_t spm_id_to_piece(const spm_processor *p, int32_t id, char *out, size_t out_len);
/* 1 when `id` is a control (bos/eos/pad...) piece. */
int spm_is_control(const spm_processor *p, int32_t id);

/* Encodes UTF-8 text. Writes up to `cap` ids into out and returns how many ids the text has
   (call again with a larger buffer when the result exceeds cap); -1 on error. */
int32_t spm_encode(const spm_processor *p, const char *text, size_t text_len,
                   int32_t *out, size_t cap, char *err, size_t err_len);
/* Decodes ids into UTF-8 text. Writes up to `cap` bytes (no NUL) and returns the full length;
   -1 on error (an id outside the vocabulary, for instance). */
int64_t spm_decode(const spm_processor *p, const int32_t *ids, size_t n,
                   char *out, size_t cap, char *err, size_t err_len);

/* Trains a model with SentencePiece's own flag syntax, e.g.
   "--input=a.txt --model_prefix=out/tokenizer --vocab_size=512 --model_type=bpe".
   Returns 0 on success, -1 with a message otherwise. */
int spm_train(const char *args, char *err, size_t err_len);

#ifdef __cplusplus
}
#endif
#endif
