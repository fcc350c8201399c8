namespace EmbedSharp.Optimizers;

/// <summary>
/// Type arguments of a rule's shared update loop: <see cref="WithBackup"/> compiles it with the
/// non-finite guard's backup stores and check, <see cref="WithoutBackup"/> without them. The JIT folds
/// the <c>typeof</c> tests, so the plain update pays nothing for the guarded one sharing its loop.
/// </summary>
internal readonly struct WithBackup { }

/// <inheritdoc cref="WithBackup"/>
internal readonly struct WithoutBackup { }
