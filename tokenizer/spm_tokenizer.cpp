#include "tokenizer/spm_tokenizer.h"

#include <algorithm>
#include <stdexcept>
#include <unordered_set>

#include <sentencepiece_processor.h>

#include "tokenizer/precompiled_charsmap.h"
#include "tokenizer/protobuf_writer.h"

namespace rockllm {

namespace {

// Field numbers of sentencepiece_model.proto.
namespace model_proto {
constexpr uint32_t kPieces = 1, kTrainerSpec = 2, kNormalizerSpec = 3;
}
namespace piece_proto {
constexpr uint32_t kPiece = 1, kScore = 2, kType = 3;
}
namespace trainer_proto {
constexpr uint32_t kModelType = 3, kVocabSize = 4, kByteFallback = 35;
constexpr uint64_t kModelTypeUnigram = 1, kModelTypeBpe = 2;
}
namespace normalizer_proto {
constexpr uint32_t kName = 1, kPrecompiledCharsmap = 2, kAddDummyPrefix = 3, kRemoveExtraWhitespaces = 4, kEscapeWhitespaces = 5;
}

constexpr std::string_view kSpaceSymbol = "\xe2\x96\x81";  // U+2581, SentencePiece's visible space

bool is_byte_piece(const std::string& piece) {
    return piece.size() == 6 && piece.starts_with("<0x") && piece.back() == '>' && std::isxdigit(uint8_t(piece[3])) &&
           std::isxdigit(uint8_t(piece[4]));
}

std::string replace_all(std::string_view s, std::string_view from, std::string_view to) {
    std::string out;
    size_t start = 0;
    for (size_t hit = s.find(from); hit != std::string_view::npos; hit = s.find(from, start)) {
        out.append(s, start, hit - start).append(to);
        start = hit + from.size();
    }
    return out.append(s, start);
}

}  // namespace

std::string build_sentencepiece_model(const Vocabulary& vocab) {
    // SentencePiece needs exactly one unknown piece: the vocabulary's unk id, else the first token
    // typed unknown. Further "unknown" tokens (padding in some vocabularies) become control pieces,
    // which text never produces either.
    int32_t unk_id = -1;
    if (vocab.unk_id) {
        unk_id = *vocab.unk_id;
    } else if (auto it = std::find(vocab.types.begin(), vocab.types.end(), TokenType::Unknown); it != vocab.types.end()) {
        unk_id = static_cast<int32_t>(it - vocab.types.begin());
    } else {
        throw std::runtime_error("SentencePiece vocabulary has no unknown token");
    }

    ProtobufWriter model;
    std::unordered_set<std::string> seen;
    size_t byte_pieces = 0;
    for (int32_t id = 0; id < vocab.size(); ++id) {
        std::string piece = vocab.tokens[id];
        TokenType type = vocab.types[id];
        if (type == TokenType::Byte && !is_byte_piece(piece)) type = TokenType::Normal;
        if (type == TokenType::Byte) ++byte_pieces;
        if (id == unk_id) type = TokenType::Unknown;
        else if (type == TokenType::Unknown) type = TokenType::Control;
        // SentencePiece refuses empty and repeated pieces; such ids keep their place in the
        // vocabulary as pieces that no text can produce.
        if (piece.empty() || !seen.insert(piece).second) {
            piece = "<rockllm-unused-" + std::to_string(id) + ">";
            type = TokenType::Unused;
        }
        ProtobufWriter p;
        p.bytes_field(piece_proto::kPiece, piece);
        p.float_field(piece_proto::kScore, vocab.scores[id]);
        p.varint_field(piece_proto::kType, static_cast<uint64_t>(type));
        model.message_field(model_proto::kPieces, p);
    }

    const bool unigram = vocab.model == "t5";
    ProtobufWriter trainer;
    trainer.varint_field(trainer_proto::kModelType, unigram ? trainer_proto::kModelTypeUnigram : trainer_proto::kModelTypeBpe);
    trainer.varint_field(trainer_proto::kVocabSize, static_cast<uint64_t>(vocab.size()));
    trainer.bool_field(trainer_proto::kByteFallback, byte_pieces == 256);
    model.message_field(model_proto::kTrainerSpec, trainer);

    // BPE ("llama"): llama.cpp neither collapses whitespace nor adds the dummy prefix the
    // SentencePiece way (it adds a space itself, see encode_fragment()). Unigram ("t5"): the
    // normalizer the model was trained with, as the GGUF keeps it; llama.cpp applies it to each
    // piece of text between special tokens, as SentencePiece does to each text it encodes. Spaces
    // become U+2581 in both.
    ProtobufWriter normalizer;
    normalizer.bytes_field(normalizer_proto::kName, unigram && !vocab.precompiled_charsmap.empty() ? "precompiled" : "identity");
    if (unigram && !vocab.precompiled_charsmap.empty()) {
        check_precompiled_charsmap(vocab.precompiled_charsmap);
        normalizer.bytes_field(normalizer_proto::kPrecompiledCharsmap, vocab.precompiled_charsmap);
    }
    normalizer.bool_field(normalizer_proto::kAddDummyPrefix, unigram && vocab.add_space_prefix);
    normalizer.bool_field(normalizer_proto::kRemoveExtraWhitespaces, unigram && vocab.remove_extra_whitespaces);
    normalizer.bool_field(normalizer_proto::kEscapeWhitespaces, true);
    model.message_field(model_proto::kNormalizerSpec, normalizer);
    return model.bytes();
}

SpmTokenizer::SpmTokenizer(Vocabulary vocab)
    : Tokenizer(std::move(vocab)), processor_(std::make_unique<sentencepiece::SentencePieceProcessor>()) {
    const auto status = processor_->LoadFromSerializedProto(build_sentencepiece_model(vocab_));
    if (!status.ok()) throw std::runtime_error("SentencePiece rejected the vocabulary: " + status.ToString());

}

SpmTokenizer::~SpmTokenizer() = default;

void SpmTokenizer::encode_fragment(std::string text, bool first, std::vector<int32_t>& out) const {
    if (vocab_.model != "t5" && vocab_.add_space_prefix && first) text.insert(text.begin(), ' ');
    std::vector<int> ids;
    const auto status = processor_->Encode(text, &ids);
    if (!status.ok()) throw std::runtime_error("SentencePiece could not encode the text: " + status.ToString());
    out.insert(out.end(), ids.begin(), ids.end());
}

std::string SpmTokenizer::text_piece(int32_t id) const {
    const std::string& text = vocab_.tokens[id];
    if (vocab_.types[id] == TokenType::Byte && is_byte_piece(text))
        return std::string(1, static_cast<char>(std::stoi(text.substr(3, 2), nullptr, 16)));
    return replace_all(text, kSpaceSymbol, " ");
}

}  // namespace rockllm
