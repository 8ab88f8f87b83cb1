// The filters, tests, methods and global functions of the Jinja engine (Python's behaviour for the
// str, list and dict methods chat templates call).
#pragma once

#include <string>

#include "chat/jinja_value.h"

namespace rockllm::jinja {

// subject | name(args); Error for an unknown filter.
Value apply_filter(const std::string& name, const Value& subject, CallArgs& args);
// subject is name(args); Error for an unknown test.
bool apply_test(const std::string& name, const Value& subject, CallArgs& args);
// obj.name as Jinja's getattr sees it: a bound method for the methods of str, list and dict, a
// member for dicts and namespaces, undefined otherwise.
Value get_attribute(const Value& object, const std::string& name);
// obj[key]: list and string indices (negative from the end), dict members; undefined when absent.
Value get_item(const Value& object, const Value& key);
// obj[start:stop:step] for lists and strings.
Value get_slice(const Value& object, const Value& start, const Value& stop, const Value& step);
// range, namespace, dict, raise_exception, strftime_now.
Value global_function(const std::string& name);

// The items a for loop visits: list items, dict keys, string characters; none for undefined.
List iterate(const Value& v);

// Arguments by position or keyword, for builtins: the value, or `fallback` when not given.
Value argument(CallArgs& args, size_t position, const char* keyword, Value fallback = Value());

}  // namespace rockllm::jinja
