// Included by every vkllm shader, right after #version.
#extension GL_EXT_control_flow_attributes : enable

// Specialization constant 0 is the workgroup size of every vkllm shader (runtime Pipeline::local_size).
layout(local_size_x_id = 0) in;

// The graph's step values (runtime/graph.h). A push-constant value with the top bit set names
// a step slot, so a recorded command buffer can be replayed with new positions or lengths.
layout(set = 1, binding = 0) readonly buffer StepValues { uint step_values[]; };
uint param(uint v) { return (v & 0x80000000u) != 0u ? step_values[v & 0x7fffffffu] : v; }

// Workgroup index when the host folded a large grid into x and y (runtime groups_for()).
uint linear_workgroup() { return gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x; }
uint linear_invocation() { return linear_workgroup() * gl_WorkGroupSize.x + gl_LocalInvocationID.x; }
