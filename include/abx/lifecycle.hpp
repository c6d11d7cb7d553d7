// The experiment state machine: draft -> running <-> paused -> completed -> archived.
#pragma once
#include "abx/core_only.hpp"

#include <string_view>

namespace abx {

enum class Status { Draft, Running, Paused, Completed, Archived };
enum class Action { Start, Pause, Resume, Complete, Archive };

std::string_view to_string(Status status);
std::string_view to_string(Action action);
Status parse_status(std::string_view text);  // throws Error 22023 on an unknown name

// The status an action leads to; throws Error 55000 (object_not_in_prerequisite_state) naming the
// action, the current status and the statuses the action is allowed from.
Status transition(Status from, Action action);

// Whether an experiment in this status hands out new assignments.
inline bool accepts_new_assignments(Status s) {
    return s == Status::Running;
}

// Whether an experiment in this status takes events (and so has something to aggregate).
inline bool accepts_events(Status s) {
    return s == Status::Running || s == Status::Paused || s == Status::Completed;
}

}  // namespace abx
