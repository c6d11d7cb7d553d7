// Tests of the experiment state machine (include/abx/lifecycle.hpp).
#include "abx/error.hpp"
#include "abx/lifecycle.hpp"

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <utility>

namespace {

using abx::Action;
using abx::Status;

constexpr Status kStatuses[] = {Status::Draft, Status::Running, Status::Paused, Status::Completed,
                                Status::Archived};
constexpr Action kActions[] = {Action::Start, Action::Pause, Action::Resume, Action::Complete,
                               Action::Archive};

// The specification, written independently of the implementation's table.
const std::map<std::pair<Status, Action>, Status> kAllowed = {
    {{Status::Draft, Action::Start}, Status::Running},
    {{Status::Running, Action::Pause}, Status::Paused},
    {{Status::Paused, Action::Resume}, Status::Running},
    {{Status::Running, Action::Complete}, Status::Completed},
    {{Status::Paused, Action::Complete}, Status::Completed},
    {{Status::Completed, Action::Archive}, Status::Archived},
};

TEST(Lifecycle, AllowedTransitions) {
    EXPECT_EQ(abx::transition(Status::Draft, Action::Start), Status::Running);
    EXPECT_EQ(abx::transition(Status::Running, Action::Pause), Status::Paused);
    EXPECT_EQ(abx::transition(Status::Paused, Action::Resume), Status::Running);
    EXPECT_EQ(abx::transition(Status::Running, Action::Complete), Status::Completed);
    EXPECT_EQ(abx::transition(Status::Paused, Action::Complete), Status::Completed);
    EXPECT_EQ(abx::transition(Status::Completed, Action::Archive), Status::Archived);
}

TEST(Lifecycle, EveryStatusActionPair) {
    int allowed = 0;
    int refused = 0;
    for (Status from : kStatuses) {
        for (Action action : kActions) {
            SCOPED_TRACE(std::string(abx::to_string(action)) + " from " +
                         std::string(abx::to_string(from)));
            const auto it = kAllowed.find({from, action});
            if (it != kAllowed.end()) {
                EXPECT_EQ(abx::transition(from, action), it->second);
                ++allowed;
                continue;
            }
            ++refused;
            try {
                abx::transition(from, action);
                ADD_FAILURE() << "transition was allowed";
            } catch (const abx::Error& e) {
                EXPECT_EQ(e.sqlstate, "55000");
                const std::string msg = e.what();
                EXPECT_NE(msg.find(std::string(abx::to_string(action))), std::string::npos) << msg;
                EXPECT_NE(msg.find(std::string(abx::to_string(from))), std::string::npos) << msg;
            }
        }
    }
    EXPECT_EQ(allowed, 6);  // 5 transitions, complete counts twice (from running and paused)
    EXPECT_EQ(refused, 19);
}

TEST(Lifecycle, RefusalMessageNamesAllowedStatuses) {
    try {
        abx::transition(Status::Draft, Action::Pause);
        FAIL() << "pause from draft was allowed";
    } catch (const abx::Error& e) {
        EXPECT_STREQ(e.what(),
                     "cannot pause an experiment that is draft (pause is allowed from: running)");
    }
    try {
        abx::transition(Status::Archived, Action::Complete);
        FAIL() << "complete from archived was allowed";
    } catch (const abx::Error& e) {
        EXPECT_STREQ(e.what(),
                     "cannot complete an experiment that is archived (complete is allowed from: "
                     "running, paused)");
    }
}

TEST(Lifecycle, StringRoundTrip) {
    const std::map<Status, std::string> names = {{Status::Draft, "draft"},
                                                 {Status::Running, "running"},
                                                 {Status::Paused, "paused"},
                                                 {Status::Completed, "completed"},
                                                 {Status::Archived, "archived"}};
    for (const auto& [status, name] : names) {
        EXPECT_EQ(abx::to_string(status), name);
        EXPECT_EQ(abx::parse_status(name), status);
        EXPECT_EQ(abx::parse_status(abx::to_string(status)), status);
    }
    EXPECT_EQ(abx::to_string(Action::Start), "start");
    EXPECT_EQ(abx::to_string(Action::Pause), "pause");
    EXPECT_EQ(abx::to_string(Action::Resume), "resume");
    EXPECT_EQ(abx::to_string(Action::Complete), "complete");
    EXPECT_EQ(abx::to_string(Action::Archive), "archive");
}

TEST(Lifecycle, ParseStatusRejectsUnknownNames) {
    for (const char* text : {"", "Running", "stopped", "draft ", "archive"}) {
        try {
            abx::parse_status(text);
            ADD_FAILURE() << "\"" << text << "\" was accepted";
        } catch (const abx::Error& e) {
            EXPECT_EQ(e.sqlstate, "22023");
            const std::string msg = e.what();
            EXPECT_NE(msg.find("status"), std::string::npos) << msg;
            EXPECT_NE(msg.find("draft, running, paused, completed, archived"), std::string::npos)
                << msg;
        }
    }
}

TEST(Lifecycle, OnlyRunningAcceptsNewAssignments) {
    for (Status s : kStatuses) EXPECT_EQ(abx::accepts_new_assignments(s), s == Status::Running);
}

}  // namespace
