// Shared by the unit tests: asserting that a call is refused the way the SQL API promises.
#pragma once
#include "abx/error.hpp"

#include <gtest/gtest.h>

#include <string>

// Expects an abx::Error with SQLSTATE 22023 whose message names `field`.
template <typename F>
void expect_invalid(F&& f, const std::string& field) {
    try {
        f();
        ADD_FAILURE() << "no error for " << field;
    } catch (const abx::Error& e) {
        EXPECT_EQ(e.sqlstate, "22023") << e.what();
        EXPECT_NE(std::string(e.what()).find(field), std::string::npos) << e.what();
    }
}
