// The experiment state machine. The transition table below is the single source of truth; the error
// message for a refused action is derived from it, so it always lists the right statuses.
#include "abx/lifecycle.hpp"

#include "abx/error.hpp"

#include <array>
#include <string>

namespace abx {

namespace {

constexpr std::array<Status, 5> kAllStatuses = {Status::Draft, Status::Running, Status::Paused,
                                                Status::Completed, Status::Archived};

struct Rule {
    Status from;
    Action action;
    Status to;
};

constexpr std::array<Rule, 6> kRules = {{
    {Status::Draft, Action::Start, Status::Running},
    {Status::Running, Action::Pause, Status::Paused},
    {Status::Paused, Action::Resume, Status::Running},
    {Status::Running, Action::Complete, Status::Completed},
    {Status::Paused, Action::Complete, Status::Completed},
    {Status::Completed, Action::Archive, Status::Archived},
}};

bool is_valid(Action action) {
    switch (action) {
        case Action::Start:
        case Action::Pause:
        case Action::Resume:
        case Action::Complete:
        case Action::Archive:
            return true;
    }
    return false;
}

}  // namespace

std::string_view to_string(Status status) {
    switch (status) {
        case Status::Draft:
            return "draft";
        case Status::Running:
            return "running";
        case Status::Paused:
            return "paused";
        case Status::Completed:
            return "completed";
        case Status::Archived:
            return "archived";
    }
    return "unknown";
}

std::string_view to_string(Action action) {
    switch (action) {
        case Action::Start:
            return "start";
        case Action::Pause:
            return "pause";
        case Action::Resume:
            return "resume";
        case Action::Complete:
            return "complete";
        case Action::Archive:
            return "archive";
    }
    return "unknown";
}

Status parse_status(std::string_view text) {
    std::string allowed;
    for (Status s : kAllStatuses) {
        if (text == to_string(s)) return s;
        if (!allowed.empty()) allowed += ", ";
        allowed += to_string(s);
    }
    invalid_field("status",
                  "\"" + std::string(text) + "\" is not a status (allowed: " + allowed + ")");
}

Status transition(Status from, Action action) {
    if (!is_valid(action)) invalid_field("action", "unknown lifecycle action");
    std::string allowed_from;
    for (const Rule& rule : kRules) {
        if (rule.action != action) continue;
        if (rule.from == from) return rule.to;
        if (!allowed_from.empty()) allowed_from += ", ";
        allowed_from += to_string(rule.from);
    }
    const std::string verb(to_string(action));
    throw Error(sqlstate::kObjectNotInPrerequisiteState,
                "cannot " + verb + " an experiment that is " + std::string(to_string(from)) + " (" +
                    verb + " is allowed from: " + allowed_from + ")");
}

}  // namespace abx
