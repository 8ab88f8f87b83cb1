// Just enough of the protobuf wire format to serialise a SentencePiece ModelProto
// (Debian's libsentencepiece-dev ships no generated protobuf headers).
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace rockllm {

class ProtobufWriter {
public:
    void varint_field(uint32_t field, uint64_t value) {
        tag(field, 0);
        varint(value);
    }
    void bool_field(uint32_t field, bool value) { varint_field(field, value ? 1 : 0); }
    void float_field(uint32_t field, float value) {
        tag(field, 5);
        char bytes[4];
        std::memcpy(bytes, &value, 4);  // protobuf fixed32 is little-endian, as are our targets
        out_.append(bytes, 4);
    }
    void bytes_field(uint32_t field, std::string_view value) {
        tag(field, 2);
        varint(value.size());
        out_.append(value);
    }
    void message_field(uint32_t field, const ProtobufWriter& message) { bytes_field(field, message.out_); }

    const std::string& bytes() const { return out_; }

private:
    void tag(uint32_t field, uint32_t wire_type) { varint((uint64_t{field} << 3) | wire_type); }
    void varint(uint64_t value) {
        while (value >= 0x80) {
            out_.push_back(static_cast<char>((value & 0x7f) | 0x80));
            value >>= 7;
        }
        out_.push_back(static_cast<char>(value));
    }

    std::string out_;
};

}  // namespace rockllm
