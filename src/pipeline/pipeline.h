// The production path (DESIGN.md "Partitions, state and resumability").
#pragma once
