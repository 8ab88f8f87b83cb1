// GGUF metadata values: every type of the format, arrays (also nested) included, with typed access.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <type_traits>
#include <variant>
#include <vector>

namespace rockllm::gguf {

// Value type ids as written in the file.
enum class ValueType : uint32_t {
    UInt8 = 0, Int8 = 1, UInt16 = 2, Int16 = 3, UInt32 = 4, Int32 = 5, Float32 = 6,
    Bool = 7, String = 8, Array = 9, UInt64 = 10, Int64 = 11, Float64 = 12,
};
const char* value_type_name(ValueType type);

struct Value;

struct Array {
    ValueType element_type = ValueType::UInt8;
    std::vector<Value> items;
};

struct Value {
    using Storage = std::variant<uint8_t, int8_t, uint16_t, int16_t, uint32_t, int32_t, float, bool,
                                 std::string, Array, uint64_t, int64_t, double>;
    Storage data;

    Value() = default;
    template <class T>
        requires std::is_constructible_v<Storage, T&&>
    Value(T&& v) : data(std::forward<T>(v)) {}
    Value(const char* s) : data(std::string(s)) {}

    ValueType type() const;
};

// Conversions used by the typed accessors. Integers convert between widths when the value fits;
// floats accept Float32 and Float64; vectors accept arrays whose every element converts.
template <class T>
std::optional<T> convert(const Value& value);

// Convenience constructors for arrays.
template <class T>
Value make_array(const std::vector<T>& items);

}  // namespace rockllm::gguf

#include "gguf_value_impl.h"
