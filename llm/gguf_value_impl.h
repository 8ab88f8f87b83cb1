// Template definitions for gguf_value.h.
#pragma once

#include <concepts>
#include <limits>
#include <utility>

namespace rockllm::gguf {

namespace detail {

template <class T>
struct is_vector : std::false_type {};
template <class T>
struct is_vector<std::vector<T>> : std::true_type {};

template <class T>
constexpr ValueType value_type_of() {
    if constexpr (std::is_same_v<T, uint8_t>) return ValueType::UInt8;
    else if constexpr (std::is_same_v<T, int8_t>) return ValueType::Int8;
    else if constexpr (std::is_same_v<T, uint16_t>) return ValueType::UInt16;
    else if constexpr (std::is_same_v<T, int16_t>) return ValueType::Int16;
    else if constexpr (std::is_same_v<T, uint32_t>) return ValueType::UInt32;
    else if constexpr (std::is_same_v<T, int32_t>) return ValueType::Int32;
    else if constexpr (std::is_same_v<T, float>) return ValueType::Float32;
    else if constexpr (std::is_same_v<T, bool>) return ValueType::Bool;
    else if constexpr (std::is_same_v<T, std::string>) return ValueType::String;
    else if constexpr (std::is_same_v<T, uint64_t>) return ValueType::UInt64;
    else if constexpr (std::is_same_v<T, int64_t>) return ValueType::Int64;
    else if constexpr (std::is_same_v<T, double>) return ValueType::Float64;
    else if constexpr (is_vector<T>::value) return ValueType::Array;
    else static_assert(sizeof(T) == 0, "type has no GGUF value type");
}

template <class To, class From>
std::optional<To> integer_if_fits(From v) {
    if (std::in_range<To>(v)) return static_cast<To>(v);
    return std::nullopt;
}

}  // namespace detail

template <class T>
std::optional<T> convert(const Value& value) {
    if constexpr (std::is_same_v<T, bool>) {
        if (auto* b = std::get_if<bool>(&value.data)) return *b;
        return std::nullopt;
    } else if constexpr (std::is_integral_v<T>) {
        return std::visit(
            [](const auto& v) -> std::optional<T> {
                using V = std::decay_t<decltype(v)>;
                if constexpr (std::is_integral_v<V> && !std::is_same_v<V, bool>)
                    return detail::integer_if_fits<T>(v);
                else
                    return std::nullopt;
            },
            value.data);
    } else if constexpr (std::is_floating_point_v<T>) {
        if (auto* f = std::get_if<float>(&value.data)) return static_cast<T>(*f);
        if (auto* d = std::get_if<double>(&value.data)) return static_cast<T>(*d);
        return std::nullopt;
    } else if constexpr (std::is_same_v<T, std::string>) {
        if (auto* s = std::get_if<std::string>(&value.data)) return *s;
        return std::nullopt;
    } else if constexpr (detail::is_vector<T>::value) {
        auto* array = std::get_if<Array>(&value.data);
        if (!array) return std::nullopt;
        T out;
        out.reserve(array->items.size());
        for (const Value& item : array->items) {
            auto converted = convert<typename T::value_type>(item);
            if (!converted) return std::nullopt;
            out.push_back(std::move(*converted));
        }
        return out;
    } else {
        static_assert(sizeof(T) == 0, "unsupported conversion");
    }
}

template <class T>
Value make_array(const std::vector<T>& items) {
    Array array;
    array.element_type = detail::value_type_of<T>();
    array.items.reserve(items.size());
    for (const T& item : items) {
        if constexpr (detail::is_vector<T>::value)
            array.items.push_back(make_array(item));
        else
            array.items.emplace_back(item);
    }
    return Value(std::move(array));
}

}  // namespace rockllm::gguf
