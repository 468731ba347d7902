using System.Runtime.ExceptionServices;

namespace MlNetTransfer.Runtime;

/// <summary>Parallel loops whose failure reads as the body threw it: the first exception a body throws surfaces as it
/// was (its type, message and stack) instead of wrapped in an <see cref="AggregateException"/>, so a full disk names
/// the folder it could not write to and the CLI's error handling sees the exception it knows.</summary>
public static class ParallelLoops
{
    /// <summary>Runs <paramref name="loop"/> (a <c>Parallel.For</c> or <c>ForEach</c>), rethrowing the first failure of
    /// its bodies as it was thrown.</summary>
    public static void Run(Action loop)
    {
        try
        {
            loop();
        }
        catch (AggregateException e) when (e.InnerExceptions.Count > 0)
        {
            ExceptionDispatchInfo.Capture(e.InnerExceptions[0]).Throw();
            throw;
        }
    }
}
