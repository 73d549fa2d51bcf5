// C ABI over SentencePiece. Exceptions and absl::Status never cross into Swift: each is turned
// into a message in the caller's buffer.
#include "CSentencePiece.h"

#include <sentencepiece_processor.h>
#include <sentencepiece_trainer.h>

#include <cstring>
#include <string>
#include <vector>

struct spm_processor {
    sentencepiece::SentencePieceProcessor sp;
};

static void write_error(char *err, size_t err_len, const std::string &msg) {
    if (err == nullptr || err_len == 0) return;
    size_t n = msg.size() < err_len - 1 ? msg.size() : err_len - 1;
    std::memcpy(err, msg.data(), n);
    err[n] = '\0';
}

extern "C" spm_processor *spm_load(const char *path, char *err, size_t err_len) {
    auto *p = new spm_processor();
    auto status = p->sp.Load(path);
    if (!status.ok()) {
        write_error(err, err_len, status.ToString());
        delete p;
        return nullptr;
    }
    return p;
}

extern "C" spm_processor *spm_load_from_bytes(const void *bytes, size_t len, char *err, size_t err_len) {
    auto *p = new spm_processor();
    auto status = p->sp.LoadFromSerializedProto(std::string(static_cast<const char *>(bytes), len));
    if (!status.ok()) {
        write_error(err, err_len, status.ToString());
        delete p;
        return nullptr;
    }
    return p;
}

extern "C" void spm_free(spm_processor *p) { delete p; }

extern "C" int32_t spm_piece_count(const spm_processor *p) { return p->sp.GetPieceSize(); }
extern "C" int32_t spm_bos_id(const spm_processor *p) { return p->sp.bos_id(); }
extern "C" int32_t spm_eos_id(const spm_processor *p) { return p->sp.eos_id(); }
extern "C" int32_t spm_pad_id(const spm_processor *p) { return p->sp.pad_id(); }
extern "C" int32_t spm_unk_id(const spm_processor *p) { return p->sp.unk_id(); }

extern "C" int32_t spm_piece_to_id(const spm_processor *p, const char *piece) {
    return p->sp.PieceToId(piece);
}

extern "C" int32_t spm_id_to_piece(const spm_processor *p, int32_t id, char *out, size_t out_len) {
    if (id < 0 || id >= p->sp.GetPieceSize()) return -1;
    const std::string &s = p->sp.IdToPiece(id);
    if (out != nullptr && out_len > 0) {
        size_t n = s.size() < out_len - 1 ? s.size() : out_len - 1;
        std::memcpy(out, s.data(), n);
        out[n] = '\0';
    }
    return static_cast<int32_t>(s.size());
}

extern "C" int spm_is_control(const spm_processor *p, int32_t id) {
    if (id < 0 || id >= p->sp.GetPieceSize()) return 0;
    return p->sp.IsControl(id) ? 1 : 0;
}

extern "C" int32_t spm_encode(const spm_processor *p, const char *text, size_t text_len,
                              int32_t *out, size_t cap, char *err, size_t err_len) {
    std::vector<int> ids;
    auto status = p->sp.Encode(std::string(text, text_len), &ids);
    if (!status.ok()) {
        write_error(err, err_len, status.ToString());
        return -1;
    }
    for (size_t i = 0; i < ids.size() && i < cap; ++i) out[i] = ids[i];
    return static_cast<int32_t>(ids.size());
}

extern "C" int64_t spm_decode(const spm_processor *p, const int32_t *ids, size_t n,
                              char *out, size_t cap, char *err, size_t err_len) {
    std::vector<int> v(ids, ids + n);
    int size = p->sp.GetPieceSize();
    for (size_t i = 0; i < n; ++i) {
        if (v[i] < 0 || v[i] >= size) {
            write_error(err, err_len, "id " + std::to_string(v[i]) + " is outside the vocabulary of " +
                                          std::to_string(size) + " pieces");
            return -1;
        }
    }
    std::string text;
    auto status = p->sp.Decode(v, &text);
    if (!status.ok()) {
        write_error(err, err_len, status.ToString());
        return -1;
    }
    if (out != nullptr) std::memcpy(out, text.data(), text.size() < cap ? text.size() : cap);
    return static_cast<int64_t>(text.size());
}

extern "C" int spm_train(const char *args, char *err, size_t err_len) {
    try {
        auto status = sentencepiece::SentencePieceTrainer::Train(args);
        if (!status.ok()) {
            write_error(err, err_len, status.ToString());
            return -1;
        }
    } catch (const std::exception &e) {
        write_error(err, err_len, e.what());
        return -1;
    }
    return 0;
}
